/**
 * HTTP/1.1 load: a discarded warm-up, then the measured autocannon run (programmatic API), run inside
 * the load-generator process (worker.ts) with MARK start / MARK end around the measured run.
 */
import http from "node:http";
import https from "node:https";
import autocannon from "autocannon";
import { mark } from "./protocol.js";

export interface HttpLoad {
  url: string;
  connections: number;
  durationS: number;
  warmupS: number;
  method: "GET" | "POST";
  bodyBytes: number;
  /** Close each connection after one request and open a new one (over HTTPS: a full TLS handshake per request). */
  newConnectionPerRequest?: boolean;
}

export interface HttpResult {
  requests: number;
  requestsPerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** Response count by status code (non-2xx show why). */
  statusCodes: Record<string, number>;
}

/** Runs a warm-up (discarded) and the measured run, marking the window's edges. */
export async function runHttp(load: HttpLoad): Promise<HttpResult> {
  if (load.newConnectionPerRequest === true) return runFresh(load);
  const opts: autocannon.Options = {
    url: load.url,
    connections: load.connections,
    pipelining: 1,
    method: load.method,
  };
  if (load.bodyBytes > 0) {
    opts.body = Buffer.alloc(load.bodyBytes, "x");
    opts.headers = { "content-type": "application/octet-stream" };
  }
  if (load.warmupS > 0) await autocannon({ ...opts, duration: load.warmupS });
  await mark("start");
  const started = process.hrtime.bigint();
  const r = await autocannon({ ...opts, duration: load.durationS });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await mark("end");
  return {
    requests: r.requests.total,
    requestsPerSec: r.requests.total / seconds,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    latencyMaxMs: r.latency.max,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    statusCodes: Object.fromEntries(
      Object.entries(r.statusCodeStats ?? {}).map(([code, v]) => [code, (v as { count: number }).count]),
    ),
  };
}

/**
 * A new connection per request (autocannon's `reconnectRate` does not count the answer of the request
 * it reconnects after): `connections` loops, each sending one request on a new connection (no agent,
 * so over HTTPS a full handshake, no session resumption) and the next when it is answered. The
 * certificate is not verified (the bench's throw-away CA).
 */
async function runFresh(load: HttpLoad): Promise<HttpResult> {
  const url = new URL(load.url);
  const client = url.protocol === "https:" ? https : http;
  const body = load.bodyBytes > 0 ? Buffer.alloc(load.bodyBytes, "x") : undefined;
  const once = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = client.request(
        url,
        {
          method: load.method,
          agent: false,
          rejectUnauthorized: false,
          headers: body === undefined ? {} : { "content-type": "application/octet-stream" },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
          res.on("error", reject);
        },
      );
      req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
      req.on("error", reject);
      req.end(body);
    });
  const run = async (seconds: number) => {
    const until = Date.now() + seconds * 1000;
    const latencies: number[] = [];
    const statusCodes: Record<string, number> = {};
    let errors = 0;
    const loop = async () => {
      while (Date.now() < until) {
        const t0 = process.hrtime.bigint();
        try {
          const status = await once();
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          statusCodes[status] = (statusCodes[status] ?? 0) + 1;
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: load.connections }, loop));
    return { latencies, statusCodes, errors };
  };
  if (load.warmupS > 0) await run(load.warmupS);
  await mark("start");
  const started = process.hrtime.bigint();
  const r = await run(load.durationS);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await mark("end");
  const sorted = r.latencies.sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const non2xx = Object.entries(r.statusCodes)
    .filter(([code]) => !code.startsWith("2"))
    .reduce((sum, [, n]) => sum + n, 0);
  return {
    requests: sorted.length,
    requestsPerSec: sorted.length / seconds,
    latencyP50Ms: at(0.5),
    latencyP99Ms: at(0.99),
    latencyMaxMs: sorted.at(-1) ?? 0,
    errors: r.errors,
    timeouts: 0,
    non2xx,
    statusCodes: r.statusCodes,
  };
}
