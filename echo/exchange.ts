import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { RouteLabel } from "./metrics.js";
import type { EchoContext } from "./state.js";

export type EchoRequest = IncomingMessage | Http2ServerRequest;
export type EchoResponse = ServerResponse | Http2ServerResponse;

/** Response headers every answer carries, so a test always knows who answered, over what, for which path. */
export const HEADER_INSTANCE = "x-echo-instance";
export const HEADER_PROTOCOL = "x-echo-protocol";
export const HEADER_PATH = "x-echo-path";
const EXPOSED = `${HEADER_INSTANCE}, ${HEADER_PROTOCOL}, ${HEADER_PATH}`;

/** One request/response pair with what every handler needs about it. */
export interface Exchange {
  readonly ctx: EchoContext;
  readonly req: EchoRequest;
  readonly res: EchoResponse;
  /** `HTTP/1.1`, `HTTP/1.0` or `HTTP/2.0`: what reached the server. */
  readonly proto: string;
  /** Raw request target as received (path and query). */
  readonly url: string;
  /** Path part of `url`. */
  readonly path: string;
  /** Query part of `url` without `?`, or "" when there is none. */
  readonly query: string;
  /** For metrics and the access log; set by the router. */
  route: RouteLabel;
  /** Set when the exchange ended with an abrupt reset instead of a response. */
  reset: boolean;
  /** Access log only (0 / undefined when it is off): `performance.now()` at the start, the peer address. */
  readonly start: number;
  readonly remote: string | undefined;
}

export function protocolOf(req: EchoRequest): string {
  if (req.httpVersionMajor === 2) return "HTTP/2.0";
  if (req.httpVersionMajor === 1) return req.httpVersionMinor === 1 ? "HTTP/1.1" : "HTTP/1.0";
  return `HTTP/${req.httpVersion}`;
}

export function newExchange(ctx: EchoContext, req: EchoRequest, res: EchoResponse): Exchange {
  const url = req.url ?? "";
  const q = url.indexOf("?");
  const log = ctx.config.accessLog;
  return {
    ctx,
    req,
    res,
    proto: protocolOf(req),
    url,
    path: q === -1 ? url : url.slice(0, q),
    query: q === -1 ? "" : url.slice(q + 1),
    route: "not_found",
    reset: false,
    start: log ? performance.now() : 0,
    remote: log ? req.socket?.remoteAddress : undefined,
  };
}

/** Characters Node accepts in a header value; anything else in a path is percent-encoded. */
const UNSAFE_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

export function headerSafe(value: string): string {
  return UNSAFE_HEADER_VALUE.test(value) ? encodeURI(value) : value;
}

/** Identity headers (+ CORS when the request has an Origin, + `Connection: close` while draining). */
export function baseHeaders(x: Exchange): OutgoingHttpHeaders {
  // Literal keys (the HEADER_* values): built from a boilerplate, one object shape for every response.
  const headers: OutgoingHttpHeaders = {
    "x-echo-instance": x.ctx.config.instance,
    "x-echo-protocol": x.proto,
    "x-echo-path": headerSafe(x.url),
  };
  if (x.req.headers.origin !== undefined) {
    headers["access-control-allow-origin"] = "*";
    headers["access-control-expose-headers"] = EXPOSED;
  }
  if (x.ctx.draining && x.req.httpVersionMajor === 1) headers.connection = "close";
  return headers;
}

/** Statuses that never carry a body. */
export function bodyForbidden(status: number, method: string | undefined): boolean {
  return method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/** Sends a complete response with identity headers; `extra` may add or override headers. */
export function send(
  x: Exchange,
  status: number,
  body: string | Buffer,
  contentType = "text/plain; charset=utf-8",
  extra?: OutgoingHttpHeaders,
): void {
  const headers = baseHeaders(x);
  headers["content-type"] = contentType;
  if (extra !== undefined) Object.assign(headers, extra);
  const noBody = bodyForbidden(status, x.req.method);
  if (status !== 204 && status !== 304 && status >= 200) {
    headers["content-length"] = typeof body === "string" ? Buffer.byteLength(body) : body.length;
  }
  writeHead(x.res, status, headers);
  if (noBody) x.res.end();
  else (x.res as ServerResponse).end(body);
}

/**
 * `send` without `content-length` (the `echo_chunked` control): HTTP/1.1 frames the body with
 * `transfer-encoding: chunked` in two chunks (one per write), HTTP/2 ends it with END_STREAM.
 * HTTP/1.0 gets a body delimited by the close, as Node does for it.
 */
export function sendChunked(
  x: Exchange,
  status: number,
  body: string | Buffer,
  contentType: string,
  extra?: OutgoingHttpHeaders,
): void {
  const headers = baseHeaders(x);
  headers["content-type"] = contentType;
  if (extra !== undefined) Object.assign(headers, extra);
  writeHead(x.res, status, headers);
  if (bodyForbidden(status, x.req.method)) {
    x.res.end();
    return;
  }
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  const half = bytes.length >> 1;
  const res = x.res as ServerResponse;
  if (half > 0) res.write(bytes.subarray(0, half));
  res.end(bytes.subarray(half));
}

/** `writeHead` over both response kinds (their TypeScript signatures differ, the call does not). */
export function writeHead(res: EchoResponse, status: number, headers: OutgoingHttpHeaders): void {
  (res as ServerResponse).writeHead(status, headers);
}

/** `404 page not found`, gin's answer for unknown routes. */
export function notFound(x: Exchange, status = 404, extra?: OutgoingHttpHeaders): void {
  send(x, status, "404 page not found", "text/plain", extra);
}

export function statusText(status: number): string {
  return STATUS_CODES[status] ?? "Unknown";
}
