/**
 * HTTP/1.1 load: a discarded warm-up, then the measured autocannon run (programmatic API), run inside
 * the load-generator process (worker.ts) with MARK start / MARK end around the measured run.
 */
import autocannon from "autocannon";
import { mark } from "./protocol.js";

export interface HttpLoad {
  url: string;
  connections: number;
  durationS: number;
  warmupS: number;
  method: "GET" | "POST";
  bodyBytes: number;
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
