/**
 * The shapes the HTTP/1.1 codec hands out (lib/http1/): headers as flat raw arrays and the parsed heads.
 */
import type { RequestBody } from "./request_body.js";

/**
 * Headers as Node's `rawHeaders`: `[name, value, name, value, ...]`, case, order and repeats kept.
 * Structurally the proxy's `RawHeaders` (proxy/api/headers.ts).
 */
export type RawHeaders = string[];

/** A parsed request head. */
export interface RequestHead {
  method: string;
  /** The request target as sent (origin form, absolute form, `*`). */
  target: string;
  /** HTTP/1.0, or HTTP/0.9 (no version: Envoy's codec takes it for 1.0); else HTTP/1.1. */
  http10: boolean;
  /** The header fields as received (names as sent, values without surrounding whitespace). */
  rawHeaders: RawHeaders;
  /** The Host value; undefined when absent, null when there is more than one Host line. */
  host: string | undefined | null;
  /** The Transfer-Encoding value(s), joined; undefined when absent. */
  transferEncoding: string | undefined;
  /** How the body is framed: none, content-length, chunked, or `unknown` (a transfer coding we cannot read: 501). */
  framing: "none" | "length" | "chunked" | "unknown";
  contentLength: number;
  /** The connection persists after this exchange (HTTP/1.1 without `close`, HTTP/1.0 with `keep-alive`). */
  keepAlive: boolean;
  /** The lower-cased `Upgrade` type when `Connection` names `upgrade`; else null. */
  upgrade: string | null;
  /** HTTP/1.1 `Expect: 100-continue`. */
  expectContinue: boolean;
  /** The request body (null when it has none); ends after the trailers, if any, are in `trailers`. */
  body: RequestBody | null;
  /** Chunked request trailers (names lower-case), set before the body ends. */
  trailers: RawHeaders | null;
}

/** Why a request head was refused before any request existed. */
export type CodecError =
  | "bad_request" // 400: malformed
  | "headers_too_large" // 431: max_request_headers_kb
  | "too_many_headers" // 431: max_headers_count
  | "header_timeout" // 408: request_headers_timeout
  | "stream_idle_timeout" // 408: stream_idle_timeout (the head is a stream in Envoy)
  | "request_timeout"; // 408: request_timeout

/** A parsed response head, as a proxy forwards it. */
export interface ResponseHead {
  status: number;
  /** HTTP/1.0 (else 1.1). */
  http10: boolean;
  /** Names lower-case; without the hop-by-hop headers (`connection`, `transfer-encoding`, ...). */
  headers: RawHeaders;
  /** The Content-Length value; -1 when absent. */
  contentLength: number;
  /** The transfer coding ends in `chunked`. */
  chunked: boolean;
  /** The server closes the connection after this response (`connection: close`, HTTP/1.0 default). */
  close: boolean;
}
