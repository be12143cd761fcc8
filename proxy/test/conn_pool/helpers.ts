/** Connection pools in front of loopback test servers; both are closed after each test. */
import { createServer, type Server } from "node:net";
import { useCleanup } from "../../../test-support/cleanup.js";
import { closeServer, listen } from "../../../test-support/servers.js";
import type {
  ConnPool,
  RawHeaders,
  ResetReason,
  UpstreamRequest,
  UpstreamRequestHandle,
} from "../../api/upstream.js";
import type { ClusterConfig } from "../../config/model.js";
import { createConnPool, type PoolOptions } from "../../conn_pool/index.js";
import { StatsStore } from "../../stats/store.js";
import { createClusterStats } from "../../upstream/cluster_stats.js";
import { Host } from "../../upstream/host.js";
import { clusterConfig } from "../upstream/fakes.js";

export interface PoolUnderTest {
  pool: ConnPool;
  host: Host;
  store: StatsStore;
  /** A stat of the pool's cluster by its short name (`upstream_cx_total`). */
  stat(name: string): number;
}

export interface Pools {
  /** A pool (cluster `clusterConfig(overrides)`) to the host 127.0.0.1:`port`. */
  makePool(port: number, overrides?: Partial<ClusterConfig>, options?: Partial<PoolOptions>): PoolUnderTest;
  /** Listens on a free loopback port; resolves with it. */
  serve(server: Server): Promise<number>;
  /** Runs `fn` after the test too. */
  defer(fn: () => unknown): void;
}

/** Pools and servers for the tests of one file: pools are destroyed and servers closed after each test. */
export function usePools(): Pools {
  const defer = useCleanup();
  return {
    makePool(port, overrides = {}, options) {
      const config = clusterConfig(overrides);
      const host = new Host("127.0.0.1", port, 1, "127.0.0.1");
      const store = new StatsStore();
      const pool = createConnPool(
        host,
        config,
        createClusterStats(store, config.name, config.tls !== undefined),
        options,
      );
      defer(() => pool.destroy());
      return {
        pool,
        host,
        store,
        stat: (name) => {
          const snap = store.snapshot();
          const full = `cluster.${config.name}.${name}`;
          return snap.counters[full] ?? snap.gauges[full] ?? 0;
        },
      };
    },
    async serve(server) {
      const port = await listen(server);
      defer(() => closeServer(server));
      return port;
    },
    defer,
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

/**
 * Sends a GET and aborts it (twice: the second must do nothing) as soon as `bytes` body bytes have
 * arrived, as the router does when its client hangs up; resolves then, or when the response ends
 * first. The function it resolves with counts the handler calls that came after the abort.
 */
export function abortAfterBody(pool: ConnPool, bytes: number, path = "/"): Promise<() => number> {
  return new Promise((resolve) => {
    let got = 0;
    let aborted = false;
    let late = 0;
    const lateCalls = (): number => late;
    const finished = (): void => {
      if (aborted) late++;
      else resolve(lateCalls);
    };
    const handle: UpstreamRequestHandle = pool.request(
      { method: "GET", path, authority: "a", headers: [], body: null },
      {
        onHeaders() {},
        onData(chunk) {
          if (aborted) {
            late++;
            return;
          }
          got += chunk.length;
          if (got < bytes) return;
          aborted = true;
          handle.abort();
          handle.abort();
          resolve(lateCalls);
        },
        onComplete: finished,
        onError: finished,
      },
    );
  });
}

export function header(raw: RawHeaders, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === name) out.push(raw[i + 1] as string);
  return out;
}

/**
 * A raw upstream on `serve`: records every byte per connection (`received`, one string per
 * connection) and answers each request with `answer(path)` once its head (and a content-length or
 * chunked body) has arrived.
 */
export async function rawUpstream(
  serve: (server: Server) => Promise<number>,
  /** The bytes to answer with; null = no answer (the request hangs). */
  answer: (path: string) => string | null,
): Promise<{ port: number; received: string[] }> {
  const received: string[] = [];
  const server = createServer((socket) => {
    const id = received.push("") - 1;
    let buf = "";
    socket.on("data", (d: Buffer) => {
      received[id] += d.toString("latin1");
      buf += d.toString("latin1");
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buf.slice(0, end);
        let rest = buf.slice(end + 4);
        const length = /\r\ncontent-length: (\d+)/.exec(head);
        if (length !== null) {
          if (rest.length < Number(length[1])) return;
          rest = rest.slice(Number(length[1]));
        } else if (head.includes("\r\ntransfer-encoding: chunked")) {
          const last = rest.indexOf("0\r\n\r\n");
          if (last < 0) return;
          rest = rest.slice(last + 5);
        }
        buf = rest;
        const out = answer(head.split(" ")[1] ?? "/");
        if (out !== null) socket.write(out);
      }
    });
    socket.on("error", () => {});
  });
  return { port: await serve(server), received };
}
