/**
 * The request-head grammar of the downstream HTTP/1.1 codec (./h1_codec.ts), as pure functions: the
 * request line and header fields (RFC 9112: token names, no obs-fold, no control characters, CR LF
 * only, one Content-Length or a Transfer-Encoding ending in `chunked`), chunk-size and trailer lines.
 * Text is latin1, one character per byte.
 */
import type { RawHeaders } from "../api/headers.js";
import type { RequestBody } from "./h1_codec.js";

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

export const MALFORMED = -2;

/** Index of the CR of the first line end at or after `from`; -1: none yet; MALFORMED: a LF without CR. */
export function lineEnd(buf: Buffer, from: number): number {
  const lf = buf.indexOf(10, from);
  if (lf < 0) return -1;
  return lf > from && buf[lf - 1] === 13 ? lf - 1 : MALFORMED;
}

/** A LF not preceded by CR at or after `from` (`from` is past the first byte of a head). */
export function bareLineFeed(buf: Buffer, from: number): boolean {
  for (let at = buf.indexOf(10, from); at >= 0; at = buf.indexOf(10, at + 1)) {
    if (buf[at - 1] !== 13) return true;
  }
  return false;
}

/** `1*HEXDIG [BWS] [; extensions]` -> the size; -1 when malformed or too large. */
export function chunkSize(line: string): number {
  const m = /^([0-9a-fA-F]{1,13})[ \t]*(?:;.*)?$/.exec(line);
  return m === null || CONTROL.test(line) ? -1 : Number.parseInt(m[1] as string, 16);
}

/** RFC 9110 token characters (method, field names). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Control characters other than HTAB, CR and LF. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
/** A CR not followed by LF, or a LF not preceded by CR. */
const BARE_CR_LF = /\r(?!\n)|(?<!\r)\n/;
/** What a request target may hold: visible ASCII. */
const TARGET = /^[\x21-\x7e]+$/;

/** `name: value` (a header or trailer line) -> [name, value]; null when malformed. */
export function parseField(line: string): [string, string] | null {
  const colon = line.indexOf(":");
  if (colon <= 0) return null;
  const name = line.slice(0, colon);
  if (!TOKEN.test(name)) return null;
  const value = trimOws(line, colon + 1, line.length);
  if (CONTROL.test(value) || value.includes("\r") || value.includes("\n")) return null;
  return [name, value];
}

function trimOws(s: string, from: number, to: number): string {
  let a = from;
  let b = to;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return s.slice(a, b);
}

/** Whether a comma-separated header value lists `token` (lower-case), case-insensitively. */
function listsToken(value: string, token: string): boolean {
  for (const t of value.split(",")) if (t.trim().toLowerCase() === token) return true;
  return false;
}

/**
 * Parse a request head (the text before its blank line, latin1). Returns the head, or why it is
 * refused: `bad_request` (malformed), `too_many_headers` (more than `maxHeaders` fields).
 */
export function parseRequestHead(text: string, maxHeaders: number): RequestHead | CodecError {
  if (CONTROL.test(text) || BARE_CR_LF.test(text)) return "bad_request";
  let eol = text.indexOf("\r\n");
  if (eol < 0) eol = text.length;
  // Request line: method SP target SP HTTP/1.x; or `method SP target` (HTTP/0.9).
  const sp1 = text.indexOf(" ");
  if (sp1 <= 0 || sp1 > eol) return "bad_request";
  const method = text.slice(0, sp1);
  let sp2 = text.indexOf(" ", sp1 + 1);
  if (sp2 > eol) sp2 = -1;
  const target = text.slice(sp1 + 1, sp2 < 0 ? eol : sp2);
  if (!TOKEN.test(method) || !TARGET.test(target)) return "bad_request";
  let http10 = true;
  if (sp2 >= 0) {
    const version = text.slice(sp2 + 1, eol);
    if (version === "HTTP/1.1") http10 = false;
    else if (version !== "HTTP/1.0") return "bad_request";
  } else if (eol !== text.length) {
    // HTTP/0.9 has no header lines.
    return "bad_request";
  }

  const rawHeaders: RawHeaders = [];
  let host: string | undefined | null;
  let contentLength = -1;
  let transferEncoding: string | undefined;
  let connection = "";
  let upgradeValue: string | undefined;
  let expect = false;
  let count = 0;
  let at = eol + 2;
  while (at < text.length) {
    let end = text.indexOf("\r\n", at);
    if (end < 0) end = text.length;
    const c0 = text.charCodeAt(at);
    // obs-fold (a line starting with whitespace) is refused (RFC 9112 §5.2).
    if (c0 === 32 || c0 === 9) return "bad_request";
    const colon = text.indexOf(":", at);
    if (colon <= at || colon > end) return "bad_request";
    const name = text.slice(at, colon);
    if (!TOKEN.test(name)) return "bad_request";
    const value = trimOws(text, colon + 1, end);
    at = end + 2;
    if (++count > maxHeaders) return "too_many_headers";
    rawHeaders.push(name, value);
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === "host") host = host === undefined ? value : null;
        break;
      case 6:
        if (name.toLowerCase() === "expect") expect = value.toLowerCase() === "100-continue";
        break;
      case 7:
        if (name.toLowerCase() === "upgrade") upgradeValue = value;
        break;
      case 10:
        if (name.toLowerCase() === "connection")
          connection = connection === "" ? value : `${connection},${value}`;
        break;
      case 14:
        if (name.toLowerCase() === "content-length") {
          // One Content-Length, digits only (a repeated one, even equal, is refused as Envoy does).
          if (contentLength >= 0 || !/^\d{1,15}$/.test(value)) return "bad_request";
          contentLength = Number(value);
        }
        break;
      case 17:
        if (name.toLowerCase() === "transfer-encoding")
          transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
        break;
    }
  }

  let framing: RequestHead["framing"] = contentLength > 0 ? "length" : "none";
  if (transferEncoding !== undefined) {
    // Both framings at once: refused (RFC 9112 §6.1; Envoy without allow_chunked_length).
    if (contentLength >= 0) return "bad_request";
    const codings = transferEncoding.split(",").map((c) => c.trim().toLowerCase());
    // `chunked` twice is malformed; a coding after it is one we cannot read (501, as Envoy).
    if (codings.indexOf("chunked") !== codings.lastIndexOf("chunked")) return "bad_request";
    framing = codings[codings.length - 1] === "chunked" ? "chunked" : "unknown";
  }
  const close = connection !== "" && listsToken(connection, "close");
  const keepAlive = http10 ? connection !== "" && listsToken(connection, "keep-alive") && !close : !close;
  const upgrade =
    upgradeValue !== undefined && connection !== "" && listsToken(connection, "upgrade")
      ? upgradeValue.toLowerCase()
      : null;
  return {
    method,
    target,
    http10,
    rawHeaders,
    host,
    transferEncoding,
    framing,
    contentLength: framing === "length" ? contentLength : 0,
    keepAlive,
    upgrade,
    expectContinue: expect && !http10,
    body: null,
    trailers: null,
  };
}
