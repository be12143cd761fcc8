/**
 * Clients the checks use: HTTP/1.1 with a bounded keep-alive pool, h2c prior knowledge, helpers for
 * counting which echo instance answered, and how long to wait for a topology to settle.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import type http2 from "node:http2";
import { type H2Reply, h2 } from "../../lib/h2_client.js";
import { request as http1Request, type Reply } from "../../lib/http_client.js";
import type { PollOptions } from "../../lib/wait.js";
import { WAITS } from "./timeouts.js";
import type { Endpoint } from "./types.js";

export type { H2Reply, Reply };

export interface RequestOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders | string[];
  body?: Buffer;
  agent?: http.Agent;
  timeoutMs?: number;
}

const TIMEOUT_MS = WAITS.request;

/**
 * An HTTP/1.1 request to a topology endpoint (lib/http_client.ts); POST when there is a body.
 * Resolves on any response, rejects on a socket error or timeout.
 */
export function request(ep: Endpoint, path: string, opts: RequestOptions = {}): Promise<Reply> {
  return http1Request(ep.port, path, {
    ...opts,
    host: ep.host,
    method: opts.method ?? (opts.body ? "POST" : "GET"),
    timeoutMs: opts.timeoutMs ?? TIMEOUT_MS,
  });
}

/** A keep-alive pool of at most `connections` sockets. Destroy it when done. */
export function pool(connections: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
}

export function header(reply: { headers: Record<string, unknown> }, name: string): string | undefined {
  const v = reply.headers[name];
  return Array.isArray(v) ? v.join(", ") : v === undefined ? undefined : String(v);
}

/** Which echo answered (`x-echo-instance`), or `status:<code>` when the proxy answered itself. */
export function instanceOf(reply: Reply): string {
  return header(reply, "x-echo-instance") ?? `status:${reply.status}`;
}

/**
 * `total` GETs of `path`, `connections` in flight at a time: over `connections` keep-alive
 * connections, or with `fresh` each on a new connection (a proxy's balancer must not be per
 * downstream connection). Returns the answering instances in completion order.
 */
export async function spread(
  ep: Endpoint,
  path: string,
  total: number,
  connections: number,
  fresh = false,
): Promise<string[]> {
  const agent = fresh ? undefined : pool(connections);
  const seen: string[] = [];
  let next = 0;
  try {
    const worker = async () => {
      while (next < total) {
        next++;
        seen.push(instanceOf(await request(ep, path, { agent })));
      }
    };
    await Promise.all(Array.from({ length: connections }, worker));
  } finally {
    agent?.destroy();
  }
  return seen;
}

export function counts(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

export function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** One request over a fresh h2c (prior knowledge) connection (lib/h2_client.ts); POST when there is a body. */
export function h2cRequest(
  ep: Endpoint,
  path: string,
  opts: { method?: string; headers?: http2.OutgoingHttpHeaders; body?: Buffer } = {},
): Promise<H2Reply> {
  return h2(ep.port, path, {
    ...opts,
    host: ep.host,
    method: opts.method ?? (opts.body ? "POST" : "GET"),
    timeoutMs: TIMEOUT_MS,
  });
}

/**
 * Gateway API's eventual consistency, for `waitUntil` (lib/wait.ts): a condition counts once it holds
 * three tries in a row, within `WAITS.consistently`.
 */
export const CONSISTENTLY: PollOptions = { times: 3, withinMs: WAITS.consistently, intervalMs: 100 };
