/**
 * The three targets every full proxy gets, from one config generator per proxy:
 *
 *   NAME        one hop: h1 (or h2c) in, round robin over the echoes, HTTP/1.1 out
 *   NAME-h2up   one hop: h1 in, h2c out to the echoes
 *   NAME-mesh   the seed's mesh: front -> h2c -> one sidecar per echo -> HTTP/1.1 (3 processes)
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../lib/net.js";
import { notInstalled, which } from "../proc.js";
import { type ProcessSpec, startProcesses } from "./spawn.js";
import type { Target, TargetContext } from "./types.js";

export interface ProxyFamily {
  /** Target name prefix: `haproxy` gives haproxy, haproxy-h2up, haproxy-mesh. */
  name: string;
  /** How descriptions name the proxy, e.g. "HAProxy nbthread 1". */
  label: string;
  /** Extension of the written config file. */
  ext: string;
  unavailable(ctx: TargetContext): string | null;
  /**
   * Config of one hop: listen on `port`, round robin over `upstreams`, h2c to them when `h2up`;
   * `sidecar`: a mesh sidecar, which gets h2c from the front.
   */
  config(port: number, upstreams: number[], h2up: boolean, sidecar: boolean): string;
  /** The process that runs the config written to `file` and listens on `port`. */
  process(ctx: TargetContext, file: string, port: number): ProcessSpec;
}

export function proxyFamily(f: ProxyFamily): [single: Target, h2up: Target, mesh: Target] {
  const hop = (
    ctx: TargetContext,
    name: string,
    port: number,
    upstreams: number[],
    h2up: boolean,
    sidecar = false,
  ) => {
    const file = join(ctx.tmp, `${name}.${f.ext}`);
    writeFileSync(file, f.config(port, upstreams, h2up, sidecar));
    return f.process(ctx, file, port);
  };
  const singleHop = (name: string, h2up: boolean, description: string): Target => ({
    name,
    description,
    unavailable: f.unavailable,
    start: async (ctx) => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      return startProcesses(ctx, [hop(ctx, name, port, ctx.backends.echo, h2up)], url, { h2cUrl: url });
    },
  });
  const mesh: Target = {
    name: `${f.name}-mesh`,
    description: `${f.label} mesh: front -> h2c -> sidecar per echo -> HTTP/1.1 (3 processes)`,
    unavailable: f.unavailable,
    start: async (ctx) => {
      const front = await freePort();
      const sidecars = [await freePort(), await freePort()];
      const specs = [
        ...sidecars.map((port, i) =>
          hop(ctx, `${f.name}-sidecar${i + 1}`, port, [ctx.backends.echo[i] as number], false, true),
        ),
        hop(ctx, `${f.name}-front`, front, sidecars, true),
      ];
      return startProcesses(ctx, specs, `http://127.0.0.1:${front}`);
    },
  };
  return [
    singleHop(f.name, false, `${f.label}: h1 (or h2c) in, HTTP/1.1 out`),
    singleHop(`${f.name}-h2up`, true, `${f.label}: h1 in, h2c out`),
    mesh,
  ];
}

/** `unavailable` and `process` of a family that runs an installed `program` (HAProxy, Caddy). */
export function installed(
  program: string,
  args: (file: string) => string[],
  env: (ctx: TargetContext) => NodeJS.ProcessEnv = () => ({}),
): Pick<ProxyFamily, "unavailable" | "process"> {
  return {
    unavailable: () => notInstalled(program),
    process: (ctx, file, port) => ({
      file: which(program) as string,
      args: args(file),
      env: env(ctx),
      ports: [port],
    }),
  };
}
