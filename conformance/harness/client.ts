/**
 * Clients the checks use: HTTP/1.1 with a bounded keep-alive pool, h2c prior knowledge, helpers for
 * counting which echo instance answered, and how long to wait for a topology to settle.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import http2 from "node:http2";
import type { PollOptions } from "../../lib/wait.js";
import type { Endpoint } from "./types.js";

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Raw header list as received ([name, value, name, value, ...]). */
  rawHeaders: string[];
  body: Buffer;
}

export interface RequestOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders | string[];
  body?: Buffer;
  agent?: http.Agent;
  timeoutMs?: number;
}

/** An HTTP/1.1 request; resolves on any response, rejects on a socket error or timeout. */
export function request(ep: Endpoint, path: string, opts: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: ep.host,
      port: ep.port,
      path,
      method: opts.method ?? (opts.body ? "POST" : "GET"),
      headers: opts.headers,
      agent: opts.agent ?? false,
      timeout: opts.timeoutMs ?? 20_000,
    });
    req.on("timeout", () => req.destroy(new Error(`timeout after ${opts.timeoutMs ?? 20_000} ms: ${path}`)));
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.end(opts.body);
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
 * `total` GETs of `path` over `connections` keep-alive connections, `connections` in flight at a time.
 * Returns the answering instances in completion order.
 */
export async function spread(
  ep: Endpoint,
  path: string,
  total: number,
  connections: number,
): Promise<string[]> {
  const agent = pool(connections);
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
    agent.destroy();
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

export interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
}

/** One request over a fresh h2c (prior knowledge) connection. */
export function h2cRequest(
  ep: Endpoint,
  path: string,
  opts: { method?: string; headers?: http2.OutgoingHttpHeaders; body?: Buffer } = {},
): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${ep.host}:${ep.port}`);
    const fail = (err: Error) => {
      session.destroy();
      reject(err);
    };
    session.on("error", fail);
    const stream = session.request({
      ":method": opts.method ?? (opts.body ? "POST" : "GET"),
      ":path": path,
      ...opts.headers,
    });
    stream.setTimeout(20_000, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    let status = 0;
    let headers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      headers = h;
      status = Number(h[":status"]);
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", fail);
    stream.on("close", () => {
      session.close();
      if (status === 0) reject(new Error(`h2c stream closed without a response: ${path}`));
      else resolve({ status, headers, body: Buffer.concat(chunks) });
    });
    stream.end(opts.body);
  });
}

/**
 * Gateway API's eventual consistency, for `waitUntil` (lib/wait.ts): a condition counts once it holds
 * three tries in a row, within 30 s.
 */
export const CONSISTENTLY: PollOptions = { times: 3, withinMs: 30_000, intervalMs: 100 };
