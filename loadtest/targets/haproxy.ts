/** HAProxy (nbthread 1) when installed: single hop h1->h1 (also h2c in), h1->h2c, and the mesh. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, which } from "../proc.js";
import { haproxyConfig, haproxyMeshFront } from "../topologies/haproxy.js";
import { type ProcessSpec, startProcesses } from "./spawn.js";
import type { Target, TargetContext } from "./types.js";

const unavailable = (): string | null => (which("haproxy") === null ? "haproxy not installed" : null);

function spec(ctx: TargetContext, name: string, cfg: string, port: number): ProcessSpec {
  const file = join(ctx.tmp, `${name}.cfg`);
  writeFileSync(file, cfg);
  return { file: which("haproxy") as string, args: ["-db", "-f", file], ports: [port] };
}

function singleHop(name: string, h2: boolean, description: string): Target {
  return {
    name,
    description,
    unavailable,
    start: async (ctx) => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      return startProcesses(ctx, [spec(ctx, name, haproxyConfig(port, ctx.backends.echo, h2), port)], url, {
        h2cUrl: url,
      });
    },
  };
}

export const haproxy = singleHop("haproxy", false, "HAProxy nbthread 1: h1 (or h2c) in, HTTP/1.1 out");
export const haproxyH2up = singleHop("haproxy-h2up", true, "HAProxy nbthread 1: h1 in, h2c out");

export const haproxyMesh: Target = {
  name: "haproxy-mesh",
  description: "HAProxy mesh: front -> h2c -> sidecar per echo -> HTTP/1.1 (3 processes)",
  unavailable,
  start: async (ctx) => {
    const front = await freePort();
    const sidecars = [await freePort(), await freePort()];
    const specs = [
      ...sidecars.map((p, i) =>
        spec(ctx, `haproxy-sidecar${i + 1}`, haproxyConfig(p, [ctx.backends.echo[i] as number], false), p),
      ),
      spec(ctx, "haproxy-front", haproxyMeshFront(front, sidecars), front),
    ];
    return startProcesses(ctx, specs, `http://127.0.0.1:${front}`);
  },
};
