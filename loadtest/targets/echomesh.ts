/** Our proxy (`node dist/proxy/main.js -c FILE --concurrency 1`) in the three topologies. */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../proc.js";
import { meshYaml, proxyYaml } from "../topologies/echomesh.js";
import { nodeSpec, type ProcessSpec, startProcesses } from "./spawn.js";
import type { Target, TargetContext } from "./types.js";

const MAIN = "proxy/main.js";

function unavailable(ctx: TargetContext): string | null {
  return existsSync(join(ctx.dist, MAIN)) ? null : "dist/proxy/main.js not built";
}

function proxySpec(ctx: TargetContext, name: string, yaml: string, port: number): ProcessSpec {
  const file = join(ctx.tmp, `${name}.yaml`);
  writeFileSync(file, yaml);
  return nodeSpec(ctx, MAIN, ["-c", file, "--concurrency", "1", "-l", "warn", "--drain-time-s", "1"], [port]);
}

function singleHop(name: string, h2: boolean, description: string): Target {
  return {
    name,
    description,
    unavailable,
    start: async (ctx) => {
      const port = await freePort();
      const yaml = proxyYaml({ port, upstreams: ctx.backends.echo, h2 });
      const url = `http://127.0.0.1:${port}`;
      return startProcesses(ctx, [proxySpec(ctx, name, yaml, port)], url, { h2cUrl: url });
    },
  };
}

export const echomesh = singleHop("echomesh", false, "our proxy, 1 worker: h1 (or h2c) in, HTTP/1.1 out");
export const echomeshH2up = singleHop("echomesh-h2up", true, "our proxy, 1 worker: h1 in, h2c out");

export const echomeshMesh: Target = {
  name: "echomesh-mesh",
  description: "the seed's mesh with our proxy: front -> h2c -> sidecar per echo -> HTTP/1.1 (3 processes)",
  unavailable,
  start: async (ctx) => {
    const front = await freePort();
    const sidecars = [await freePort(), await freePort()];
    const yaml = meshYaml(front, sidecars, ctx.backends.echo);
    const specs = [
      ...yaml.sidecars.map((y, i) => proxySpec(ctx, `echomesh-sidecar${i + 1}`, y, sidecars[i] as number)),
      proxySpec(ctx, "echomesh-front", yaml.front, front),
    ];
    return startProcesses(ctx, specs, `http://127.0.0.1:${front}`);
  },
};
