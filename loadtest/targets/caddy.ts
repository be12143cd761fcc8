/** Caddy (GOMAXPROCS default) when installed: h1->h1 (h2c in too), h1->h2c, and the mesh. */
import { which } from "../proc.js";
import { caddyConfig } from "../topologies/caddy.js";
import { proxyFamily } from "./proxy_family.js";

export const [caddy, caddyH2up, caddyMesh] = proxyFamily({
  name: "caddy",
  label: "Caddy",
  ext: "Caddyfile",
  unavailable: () => (which("caddy") === null ? "caddy not installed" : null),
  config: caddyConfig,
  process: (ctx, file, port) => ({
    file: which("caddy") as string,
    args: ["run", "--adapter", "caddyfile", "--config", file],
    env: { HOME: ctx.tmp, XDG_DATA_HOME: ctx.tmp, XDG_CONFIG_HOME: ctx.tmp },
    ports: [port],
  }),
});
