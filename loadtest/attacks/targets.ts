/**
 * The proxies an attack runs against, each with its default protections and one upstream (the
 * counting server of ./upstream.ts), h2c or HTTP/1.1 in, HTTP/1.1 out:
 *  - our proxy from a given compiled tree (so the same harness measures an old build and a new one),
 *    the benchmarks' single hop (../targets/topology.ts) in the v2 dialect, profile `default`, one worker;
 *  - HAProxy (nbthread 1), the benchmarks' single hop, profile `bench` (a plain bind takes h2c);
 *  - Envoy, the same spec in v3, profile `default`, so without the benchmarks' raised circuit breakers:
 *    Envoy's defaults (1,024 connections, pending and active requests per cluster) are what protects
 *    it, as the issue asks.
 * Every cluster gets Envoy's default connect timeout (5 s) instead of the benchmarks' 0.25 s: an
 * attack that makes a proxy open 1,024 connections at once on a busy machine would otherwise measure
 * connect timeouts (503s) rather than the proxy.
 */
import { randomInt } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { findEnvoy } from "../../lib/envoy.js";
import { freePort } from "../../lib/net.js";
import { fromRoot } from "../../lib/paths.js";
import type { Dialect } from "../../lib/topology/model.js";
import { renderProxy } from "../../lib/topology/render.js";
import { notInstalled, which } from "../proc.js";
import { type ProcessSpec, startProcesses } from "../targets/spawn.js";
import { singleHop } from "../targets/topology.js";
import type { RunningTarget, TargetContext } from "../targets/types.js";

export interface AttackTarget {
  name: string;
  description: string;
  unavailable(): string | null;
  /** Starts the proxy in front of `upstream` (127.0.0.1). */
  start(ctx: TargetContext, upstream: number): Promise<RunningTarget & { port: number }>;
}

async function startOne(
  ctx: TargetContext,
  name: string,
  ext: string,
  config: (port: number) => string,
  spec: (file: string, port: number) => ProcessSpec,
): Promise<RunningTarget & { port: number }> {
  const port = await freePort();
  const file = join(ctx.tmp, `${name}.${ext}`);
  writeFileSync(file, config(port));
  const t = await startProcesses(ctx, [spec(file, port)], `http://127.0.0.1:${port}`);
  return { ...t, port };
}

/**
 * Our proxy from the compiled tree `dist` (the folder holding proxy/main.js), with the benchmarks'
 * config at Envoy's defaults, or with the edge profile (proxy/profiles/edge.yaml).
 */
export function echomeshTarget(name: string, dist: string, edge = false): AttackTarget {
  return {
    name,
    description: `our proxy from ${dist}, 1 worker${edge ? ", proxy/profiles/edge.yaml" : ""}`,
    unavailable: () => null,
    start: (ctx, upstream) =>
      startOne(
        ctx,
        name,
        "yaml",
        (port) => (edge ? edgeProfile(port, upstream) : attackConfig(port, upstream, "envoy-v2", ctx.tmp)),
        (file, port) => ({
          file: process.execPath,
          args: [join(dist, "proxy/main.js"), "-c", file, "--concurrency", "1", "-l", "warn"],
          ports: [port],
        }),
      ),
  };
}

export const haproxyTarget: AttackTarget = {
  name: "haproxy",
  description: "HAProxy nbthread 1, its defaults (100 streams per h2 connection)",
  unavailable: () => notInstalled("haproxy"),
  start: (ctx, upstream) =>
    startOne(
      ctx,
      "haproxy",
      "cfg",
      (port) => attackConfig(port, upstream, "haproxy", ctx.tmp),
      (file, port) => ({ file: which("haproxy") as string, args: ["-db", "-f", file], ports: [port] }),
    ),
};

/** Envoy's default connect timeout, for every attacked proxy. */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * The benchmarks' single hop in front of `upstream` with a 5 s connect timeout: Envoy dialects with
 * profile `default` (Envoy's own limits), HAProxy with profile `bench` (one thread, as before).
 */
function attackConfig(port: number, upstream: number, dialect: Dialect, workDir: string): string {
  const spec = singleHop(port, [upstream], "http1");
  const clusters = spec.clusters.map((c) => ({ ...c, connectTimeoutMs: CONNECT_TIMEOUT_MS }));
  const profile = dialect === "haproxy" ? "bench" : "default";
  return renderProxy({ ...spec, clusters }, dialect, { profile, workDir });
}

interface EdgeProfile {
  admin: { address: { socket_address: { port_value: number } } };
  static_resources: {
    listeners: { address: { socket_address: { address: string; port_value: number } } }[];
    clusters: {
      load_assignment: {
        endpoints: {
          lb_endpoints: { endpoint: { address: { socket_address: { port_value: number } } } }[];
        }[];
      };
    }[];
  };
}

/** proxy/profiles/edge.yaml on loopback: its listener on `port`, its one upstream `upstream`, no admin port clash. */
function edgeProfile(port: number, upstream: number): string {
  const doc = parse(readFileSync(fromRoot("proxy/profiles/edge.yaml"), "utf8")) as EdgeProfile;
  const listener = doc.static_resources.listeners[0];
  const endpoint = doc.static_resources.clusters[0]?.load_assignment.endpoints[0]?.lb_endpoints[0];
  if (listener === undefined || endpoint === undefined)
    throw new Error("proxy/profiles/edge.yaml: no listener or endpoint");
  listener.address.socket_address = { address: "127.0.0.1", port_value: port };
  endpoint.endpoint.address.socket_address.port_value = upstream;
  doc.admin.address.socket_address.port_value = 0;
  return stringify(doc);
}

export const envoyTarget: AttackTarget = envoyWith(
  "envoy",
  "Envoy --concurrency 1, its defaults (circuit breakers 1,024, premature-reset limits)",
  (port, upstream, ctx) => attackConfig(port, upstream, "envoy-v3", ctx.tmp),
);

/** Envoy with the edge profile, the same file as our `--edge` target. */
export const envoyEdgeTarget: AttackTarget = envoyWith(
  "envoy-edge",
  "Envoy --concurrency 1, proxy/profiles/edge.yaml",
  edgeProfile,
);

function envoyWith(
  name: string,
  description: string,
  config: (port: number, upstream: number, ctx: TargetContext) => string,
): AttackTarget {
  return {
    name,
    description,
    unavailable: () => {
      const e = findEnvoy();
      return e.found ? null : e.reason;
    },
    start: (ctx, upstream) =>
      startOne(
        ctx,
        name,
        "yaml",
        (port) => config(port, upstream, ctx),
        (file, port) => {
          const e = findEnvoy();
          if (!e.found) throw new Error(e.reason);
          return {
            file: e.path,
            args: [
              "-c",
              file,
              "--concurrency",
              "1",
              "--disable-hot-restart",
              "--base-id",
              String(randomInt(1_000, 1_000_000)),
              "-l",
              "warn",
            ],
            ports: [port],
          };
        },
      ),
  };
}
