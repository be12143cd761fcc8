/** Caddy (GOMAXPROCS default) when installed: h1->h1 (h2c in too), h1->h2c, and the mesh. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, which } from "../proc.js";
import { caddyConfig } from "../topologies/caddy.js";
import { type ProcessSpec, startProcesses } from "./spawn.js";
import type { Target, TargetContext } from "./types.js";

const unavailable = (): string | null => (which("caddy") === null ? "caddy not installed" : null);

function spec(ctx: TargetContext, name: string, cfg: string, port: number): ProcessSpec {
  const file = join(ctx.tmp, `${name}.Caddyfile`);
  writeFileSync(file, cfg);
  return {
    file: which("caddy") as string,
    args: ["run", "--adapter", "caddyfile", "--config", file],
    env: { HOME: ctx.tmp, XDG_DATA_HOME: ctx.tmp, XDG_CONFIG_HOME: ctx.tmp },
    ports: [port],
  };
}

function singleHop(name: string, h2up: boolean, description: string): Target {
  return {
    name,
    description,
    unavailable,
    start: async (ctx) => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      return startProcesses(ctx, [spec(ctx, name, caddyConfig(port, ctx.backends.echo, h2up), port)], url, {
        h2cUrl: url,
      });
    },
  };
}

export const caddy = singleHop("caddy", false, "Caddy: h1 (or h2c) in, HTTP/1.1 out");
export const caddyH2up = singleHop("caddy-h2up", true, "Caddy: h1 in, h2c out");

export const caddyMesh: Target = {
  name: "caddy-mesh",
  description: "Caddy mesh: front -> h2c -> sidecar per echo -> HTTP/1.1 (3 processes)",
  unavailable,
  start: async (ctx) => {
    const front = await freePort();
    const sidecars = [await freePort(), await freePort()];
    const specs = [
      ...sidecars.map((p, i) =>
        spec(ctx, `caddy-sidecar${i + 1}`, caddyConfig(p, [ctx.backends.echo[i] as number], false), p),
      ),
      spec(ctx, "caddy-front", caddyConfig(front, sidecars, true), front),
    ];
    return startProcesses(ctx, specs, `http://127.0.0.1:${front}`);
  },
};
