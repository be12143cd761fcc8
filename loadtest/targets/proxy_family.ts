/**
 * The three targets every full proxy gets, each config rendered from the topology model in the
 * proxy's dialect (./topology.ts: the catalog's seed proxy and seed mesh, profile `bench`):
 *
 *   NAME        one hop: h1 (or h2c) in, round robin over the echoes, HTTP/1.1 out
 *   NAME-h2up   one hop: h1 in, h2c out to the echoes
 *   NAME-mesh   the seed's mesh: front -> h2c -> one sidecar per echo -> HTTP/1.1 (3 processes)
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../lib/net.js";
import { createTestPki } from "../../lib/test_pki.js";
import type { Dialect, ProxySpec } from "../../lib/topology/model.js";
import { CONFIG_EXT } from "../../lib/topology/render.js";
import { notInstalled, which } from "../proc.js";
import { type ProcessSpec, startProcesses } from "./spawn.js";
import { benchConfig, LOOPBACK, mesh as meshSpecs, singleHop } from "./topology.js";
import type { Target, TargetContext } from "./types.js";

export interface ProxyFamily {
  /** Target name prefix: `haproxy` gives haproxy, haproxy-h2up, haproxy-mesh. */
  name: string;
  /** How descriptions name the proxy, e.g. "HAProxy nbthread 1". */
  label: string;
  /** The config language the proxy reads. */
  dialect: Dialect;
  unavailable(ctx: TargetContext): string | null;
  /** The process that runs the config written to `file` and listens on `port`. */
  process(ctx: TargetContext, file: string, port: number): ProcessSpec;
}

/** Writes `spec`'s config as `<name>.<ext>` in the run's folder; the process that runs it. */
function writeHop(f: ProxyFamily, ctx: TargetContext, name: string, spec: ProxySpec): ProcessSpec {
  const file = join(ctx.tmp, `${name}.${CONFIG_EXT[f.dialect]}`);
  writeFileSync(file, benchConfig(spec, f.dialect, ctx.tmp));
  return f.process(ctx, file, spec.listener.address.port);
}

export function proxyFamily(f: ProxyFamily): [single: Target, h2up: Target, mesh: Target] {
  const hop = (ctx: TargetContext, name: string, spec: ProxySpec) => writeHop(f, ctx, name, spec);
  const single = (name: string, h2up: boolean, description: string): Target => ({
    name,
    description,
    unavailable: f.unavailable,
    start: async (ctx) => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const spec = singleHop(port, ctx.backends.echo, h2up ? "h2c" : "http1");
      return startProcesses(ctx, [hop(ctx, name, spec)], url, { h2cUrl: url });
    },
  });
  const mesh: Target = {
    name: `${f.name}-mesh`,
    description: `${f.label} mesh: front -> h2c -> sidecar per echo -> HTTP/1.1 (3 processes)`,
    unavailable: f.unavailable,
    start: async (ctx) => {
      const front = await freePort();
      const sidecars: { port: number; echo: number }[] = [];
      for (const echo of ctx.backends.echo) sidecars.push({ port: await freePort(), echo });
      const specs = meshSpecs(front, sidecars);
      const processes = [
        ...specs.sidecars.map((spec, i) => hop(ctx, `${f.name}-sidecar${i + 1}`, spec)),
        hop(ctx, `${f.name}-front`, specs.front),
      ];
      return startProcesses(ctx, processes, `http://127.0.0.1:${front}`);
    },
  };
  return [
    single(f.name, false, `${f.label}: h1 (or h2c) in, HTTP/1.1 out`),
    single(`${f.name}-h2up`, true, `${f.label}: h1 in, h2c out`),
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

/**
 * `NAME-tls`: the single hop with its listener terminating TLS (a test CA and an ECDSA P-256
 * certificate for 127.0.0.1 made in the run's folder, ALPN h2 and http/1.1), HTTP/1.1 to the echoes.
 * The TLS scenarios' clients do not verify the certificate (the target's CPU is what is measured).
 */
export function tlsHop(f: ProxyFamily): Target {
  const name = `${f.name}-tls`;
  return {
    name,
    description: `${f.label}: HTTPS in (ECDSA P-256 test certificate, ALPN h2,http/1.1), HTTP/1.1 out`,
    unavailable: f.unavailable,
    start: async (ctx) => {
      const port = await freePort();
      const pki = await createTestPki(join(ctx.tmp, `${name}-pki`));
      const cert = await pki.issue("proxy", { dns: ["localhost"], ips: [LOOPBACK] });
      const plain = singleHop(port, ctx.backends.echo, "http1");
      const spec: ProxySpec = {
        ...plain,
        listener: { ...plain.listener, tls: { cert, alpn: ["h2", "http/1.1"] } },
      };
      return startProcesses(ctx, [writeHop(f, ctx, name, spec)], `https://${LOOPBACK}:${port}`);
    },
  };
}
