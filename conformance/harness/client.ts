/**
 * Clients the checks use: HTTP/1.1 with a bounded keep-alive pool, h2c prior knowledge, helpers for
 * counting which echo instance answered, and how long to wait for a topology to settle.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import { type H2Reply, h2 } from "../../lib/h2_client.js";
import { request as http1Request, type Reply } from "../../lib/http_client.js";
import type { CertFiles } from "../../lib/topology/model.js";
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
  /** HTTPS with these TLS options (see `httpsRequest`). */
  tls?: ConnectionOptions;
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

/** What a TLS client trusts, asks for and presents (files are read per connection). */
export interface TlsClient {
  /** The CA the server's certificate must chain to. */
  ca: string;
  /** SNI, and the name the server's certificate must carry. */
  servername: string;
  /** ALPN protocols offered (default: http/1.1 only, as an HTTPS/1.1 client). */
  alpn?: string[];
  /** A client certificate to present (mutual TLS). */
  cert?: CertFiles;
}

/** An HTTPS reply, with what the handshake settled. */
export interface TlsReply extends Reply {
  /** The ALPN protocol the server chose (false: none). */
  alpn: string | false;
  /** The subjectAltName of the server's certificate, as Node prints it (`DNS:a, DNS:b`). */
  peerSan: string;
}

function tlsOptions(tls: TlsClient) {
  return {
    ca: readFileSync(tls.ca),
    servername: tls.servername,
    ALPNProtocols: tls.alpn ?? ["http/1.1"],
    ...(tls.cert === undefined ? {} : { cert: readFileSync(tls.cert.cert), key: readFileSync(tls.cert.key) }),
  };
}

/**
 * One HTTPS/1.1 request on a new TLS connection (or on `agent`'s), verifying the server's certificate
 * against `tls.ca` and `tls.servername`; rejects on a failed handshake, a reset or a timeout.
 */
export async function httpsRequest(
  ep: Endpoint,
  path: string,
  tls: TlsClient,
  opts: { headers?: http.OutgoingHttpHeaders; agent?: https.Agent } = {},
): Promise<TlsReply> {
  const reply = await request(ep, path, {
    headers: { host: `${tls.servername}:${ep.port}`, ...opts.headers },
    ...(opts.agent && { agent: opts.agent }),
    tls: tlsOptions(tls),
  });
  return { ...reply, alpn: reply.tls?.alpn ?? false, peerSan: reply.tls?.peerSan ?? "" };
}

/** A keep-alive HTTPS pool of one connection, presenting `tls` (destroy it when done). */
export function httpsPool(tls: TlsClient): https.Agent {
  return new https.Agent({ keepAlive: true, maxSockets: 1, ...tlsOptions(tls) });
}

/** `n` GETs of `path` on one HTTP/2 connection over TLS (ALPN h2 offered alone); the replies and the ALPN chosen. */
export async function h2TlsRequests(
  ep: Endpoint,
  path: string,
  n: number,
  tls: TlsClient,
): Promise<{ alpn: string | false; replies: { status: number; headers: http2.IncomingHttpHeaders }[] }> {
  // The authority names the server (the :authority sent); the connection goes to the endpoint.
  const session = http2.connect(`https://${tls.servername}:${ep.port}`, {
    createConnection: () =>
      tlsConnect({ host: ep.host, port: ep.port, ...tlsOptions({ ...tls, alpn: ["h2"] }) }),
  });
  try {
    await new Promise<void>((resolve, reject) => {
      session.once("connect", () => resolve());
      session.setTimeout(TIMEOUT_MS, () => session.destroy(new Error("h2 over TLS: no answer")));
      session.once("error", reject);
    });
    const replies: { status: number; headers: http2.IncomingHttpHeaders }[] = [];
    for (let i = 0; i < n; i++) {
      replies.push(
        await new Promise((resolve, reject) => {
          const stream = session.request({ ":path": path }, {});
          stream.setTimeout(TIMEOUT_MS, () => stream.close(http2.constants.NGHTTP2_CANCEL));
          stream.on("response", (headers) => {
            stream.resume();
            stream.on("end", () => resolve({ status: Number(headers[":status"]), headers }));
          });
          stream.on("error", reject);
          stream.on("close", () => reject(new Error(`stream ${path} closed without an answer`)));
          stream.end();
        }),
      );
    }
    return { alpn: session.alpnProtocol ?? false, replies };
  } finally {
    session.close();
  }
}
