import type http from "node:http";
import type http2 from "node:http2";
import type { AddressInfo, Server, Socket } from "node:net";
import type { ClusterConfig } from "../../config/model.js";
import { createConnPool, type PoolOptions } from "../../conn_pool/index.js";
import type { ConnPool, RawHeaders, ResetReason, UpstreamRequest } from "../../conn_pool/types.js";
import { StatsStore } from "../../stats/store.js";
import { createClusterStats } from "../../upstream/cluster_stats.js";
import { Host } from "../../upstream/host.js";

export function clusterConfig(overrides: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    name: "test",
    type: "static",
    lbPolicy: "round_robin",
    connectTimeoutMs: 2000,
    protocol: "http1",
    http2MaxConcurrentStreams: 2147483647,
    endpoints: [],
    dnsRefreshRateMs: 5000,
    dnsLookupFamily: "auto",
    respectDnsTtl: false,
    leastRequestChoiceCount: 2,
    upstreamIdleTimeoutMs: 4000,
    maxRequestsPerConnection: 0,
    ...overrides,
  };
}

export interface PoolUnderTest {
  pool: ConnPool;
  host: Host;
  store: StatsStore;
  stat(name: string): number;
}

export function makePool(
  port: number,
  overrides: Partial<ClusterConfig> = {},
  options?: Partial<PoolOptions>,
): PoolUnderTest {
  const host = new Host("127.0.0.1", port, 1, "127.0.0.1");
  const store = new StatsStore();
  const stats = createClusterStats(store, "test");
  const pool = createConnPool(host, clusterConfig(overrides), stats, options);
  return {
    pool,
    host,
    store,
    stat: (name) => {
      const snap = store.snapshot();
      return snap.counters[`cluster.test.${name}`] ?? snap.gauges[`cluster.test.${name}`] ?? 0;
    },
  };
}

export interface Outcome {
  status: number;
  headers: RawHeaders;
  body: Buffer;
  trailers: RawHeaders | null;
  error: { reason: ResetReason; detail: string; afterHeaders: boolean } | null;
}

/** Sends one request through the pool and collects the outcome. */
export function send(pool: ConnPool, req: Partial<UpstreamRequest> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const out: Outcome = { status: 0, headers: [], body: Buffer.alloc(0), trailers: null, error: null };
    pool.request(
      { method: "GET", path: "/", authority: "example.test", headers: [], body: null, ...req },
      {
        onHeaders(status, headers) {
          out.status = status;
          out.headers = headers;
        },
        onData(chunk) {
          chunks.push(chunk);
        },
        onComplete(trailers) {
          out.body = Buffer.concat(chunks);
          out.trailers = trailers;
          resolve(out);
        },
        onError(reason, detail) {
          out.body = Buffer.concat(chunks);
          out.error = { reason, detail, afterHeaders: out.status !== 0 };
          resolve(out);
        },
      },
    );
  });
}

export function header(raw: RawHeaders, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === name) out.push(raw[i + 1] as string);
  return out;
}

export function listen(server: Server | http.Server | http2.Http2Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

/** Tracks the server's sockets so a test can count connections and close everything. */
export function trackSockets(server: Server | http.Server | http2.Http2Server): {
  all: Socket[];
  open(): number;
} {
  const all: Socket[] = [];
  server.on("connection", (s: Socket) => all.push(s));
  return { all, open: () => all.filter((s) => !s.destroyed).length };
}

export function close(server: Server | http.Server | http2.Http2Server): Promise<void> {
  return new Promise((resolve) => {
    (server as http.Server).closeAllConnections?.();
    server.close(() => resolve());
  });
}

export function connections(server: Server | http.Server | http2.Http2Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.getConnections((err, n) => (err ? reject(err) : resolve(n)));
  });
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
