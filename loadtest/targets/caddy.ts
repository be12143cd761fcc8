/** Caddy (GOMAXPROCS default) when installed: h1->h1 (h2c in too), h1->h2c, and the mesh. */
import { installed, proxyFamily } from "./proxy_family.js";

export const [caddy, caddyH2up, caddyMesh] = proxyFamily({
  name: "caddy",
  label: "Caddy",
  dialect: "caddy",
  ...installed(
    "caddy",
    (file) => ["run", "--adapter", "caddyfile", "--config", file],
    // Caddy keeps state under HOME and the XDG folders: the run's scratch folder.
    (ctx) => ({ HOME: ctx.tmp, XDG_DATA_HOME: ctx.tmp, XDG_CONFIG_HOME: ctx.tmp }),
  ),
});
