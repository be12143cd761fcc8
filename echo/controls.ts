import type { OutgoingHttpHeaders } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { constants as h2 } from "node:http2";
import type { Socket } from "node:net";
import { H2_SINGLE_VALUE_HEADERS } from "../lib/h2_single_value.js";
import type { Exchange } from "./exchange.js";
import type { EchoConfig } from "./settings.js";
import { tcpOf } from "./tls.js";
import { parseDuration, parseSize } from "./units.js";

/**
 * Request-controlled behaviour. Every control has a query form (`echo_<name>`) and a header form
 * (`x-echo-<name>`); the query wins when both are given. Names start with prefixes zcong never used.
 * Aliases for echo-basic and httpbin users: `X-Echo-Set-Header: A: 1, B: 2` (echo-basic's list of
 * `x-echo-header` pairs) always, and `?delay=` (`echo_delay`) in anything mode.
 */
export interface Controls {
  /** Response status instead of the route's own. */
  status?: number;
  /** Wait this long before answering (or resetting). */
  delayMs?: number;
  /** Answer with a body of exactly this many bytes instead of the route's own body. */
  size?: number;
  /** Extra response headers, in order; repeated names are all sent. */
  headers?: Array<[string, string]>;
  /** Reset the connection (HTTP/1.1) or the stream (HTTP/2) instead of answering. */
  reset?: boolean;
  /** Answer without `content-length`: chunked on HTTP/1.1 (two chunks or more), END_STREAM on HTTP/2. */
  chunked?: boolean;
}

export const NO_CONTROLS: Readonly<Controls> = Object.freeze({});

const NAMES = ["status", "delay", "size", "header", "reset", "chunked"] as const;
type Name = (typeof NAMES)[number];
/** Headers `echo_header` may not set: message framing (would corrupt the exchange) and identity. */
const RESERVED_HEADERS = new Set([
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
  "x-echo-instance",
  "x-echo-protocol",
  "x-echo-path",
]);

/** What a header value may hold (RFC 9110 field-value): no CR, LF, NUL or other controls; one byte each. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** HTTP/1.1 connection headers HTTP/2 forbids (RFC 9113 8.2.2) that are not in RESERVED_HEADERS. */
const H2_CONNECTION_HEADERS = new Set(["proxy-connection", "http2-settings"]);

/** Raw control values by name, query values first. */
type Raw = Partial<Record<Name, string[]>>;

/**
 * Reads the controls of a request. Returns NO_CONTROLS (fast) when there are none, a Controls
 * object, or an error message for a 400 answer.
 */
export function parseControls(x: Exchange, config: EchoConfig): Readonly<Controls> | string {
  const aliases = config.anything;
  const fromQuery =
    x.query.includes("echo_") || (aliases && x.query.includes("delay="))
      ? readQuery(x.query, aliases)
      : undefined;
  const fromHeaders = readHeaders(x.req.rawHeaders);
  if (fromQuery === undefined && fromHeaders === undefined) return NO_CONTROLS;
  const raw: Raw = { ...fromHeaders, ...fromQuery };
  const c: Controls = {};
  for (const name of NAMES) {
    const values = raw[name];
    if (values === undefined || values.length === 0) continue;
    const first = values[0] ?? "";
    switch (name) {
      case "status": {
        if (!/^\d{3}$/.test(first) || Number(first) < 200 || Number(first) > 599)
          return `invalid echo_status: ${first} (use 200-599)`;
        c.status = Number(first);
        break;
      }
      case "delay": {
        const ms = parseDuration(first);
        if (ms === undefined) return `invalid echo_delay: ${first} (examples: 250, 250ms, 1.5s)`;
        if (ms > config.maxDelayMs) return `echo_delay ${first} exceeds the limit of ${config.maxDelayMs} ms`;
        c.delayMs = ms;
        break;
      }
      case "size": {
        const n = parseSize(first);
        if (n === undefined) return `invalid echo_size: ${first} (examples: 1024, 64k, 1MiB)`;
        if (n > config.maxResponseBytes)
          return `echo_size ${first} exceeds the limit of ${config.maxResponseBytes} bytes`;
        c.size = n;
        break;
      }
      case "header": {
        const problem = parseHeaders(values, x.req.httpVersionMajor === 2, c);
        if (problem !== null) return problem;
        break;
      }
      case "reset": {
        c.reset = isOn(first);
        break;
      }
      case "chunked": {
        c.chunked = isOn(first);
        break;
      }
    }
  }
  return c;
}

/** A flag control's value: anything but `0`, `false`, `no`, `off` (or empty) means on. */
function isOn(value: string): boolean {
  return !["", "0", "false", "no", "off"].includes(value.toLowerCase());
}

/**
 * `echo_header` values into `c.headers`, or the 400 message: every header must be one the response
 * can carry (a token name, a value without control characters, over HTTP/2 no connection header and
 * no second value where node:http2 allows one), so that writing the response never throws.
 */
function parseHeaders(values: string[], h2: boolean, c: Controls): string | null {
  const pairs: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const v of values) {
    const colon = v.indexOf(":");
    const headerName = colon > 0 ? v.slice(0, colon).trim() : "";
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(headerName))
      return `invalid echo_header: ${v} (use Name:Value)`;
    const lower = headerName.toLowerCase();
    if (RESERVED_HEADERS.has(lower))
      return `echo_header cannot set ${headerName} (framing and identity headers are the server's)`;
    const value = v.slice(colon + 1).trim();
    if (!HEADER_VALUE.test(value))
      return `invalid echo_header value for ${headerName}: ${JSON.stringify(value)} (no CR, LF, NUL or other control characters, nothing above U+00FF)`;
    if (h2 && H2_CONNECTION_HEADERS.has(lower))
      return `echo_header cannot set ${headerName} over HTTP/2 (a connection header, RFC 9113 8.2.2)`;
    if (h2 && seen.has(lower) && H2_SINGLE_VALUE_HEADERS.has(lower))
      return `echo_header cannot repeat ${headerName} over HTTP/2 (it takes one value)`;
    seen.add(lower);
    pairs.push([headerName, value]);
  }
  c.headers = pairs;
  return null;
}

function add(raw: Raw | undefined, name: Name, value: string): Raw {
  const out = raw ?? {};
  const list = out[name];
  if (list === undefined) out[name] = [value];
  else list.push(value);
  return out;
}

/** `echo_*` query controls, plus httpbin's `delay` with `aliases`. */
function readQuery(query: string, aliases: boolean): Raw | undefined {
  let raw: Raw | undefined;
  for (const [key, value] of new URLSearchParams(query)) {
    if (aliases && key === "delay") raw = add(raw, "delay", value);
    if (!key.startsWith("echo_")) continue;
    const name = key.slice(5) as Name;
    if (!NAMES.includes(name)) continue;
    raw = add(raw, name, value);
  }
  return raw;
}

function readHeaders(rawHeaders: string[]): Raw | undefined {
  let raw: Raw | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const key = rawHeaders[i] ?? "";
    if (!isControlHeader(key)) continue;
    const name = key.slice(7).toLowerCase();
    const value = rawHeaders[i + 1] ?? "";
    if (name === "set-header") {
      // echo-basic's X-Echo-Set-Header: `Name: value` pairs separated by commas (empty ones skipped).
      for (const pair of value.split(",")) if (pair.trim() !== "") raw = add(raw, "header", pair.trim());
    } else if (NAMES.includes(name as Name)) raw = add(raw, name as Name, value);
  }
  return raw;
}

/** `x-echo-*` in any case; most headers are rejected by their first two characters without allocating. */
function isControlHeader(name: string): boolean {
  return (
    name.length > 7 &&
    (name.charCodeAt(0) | 0x20) === 0x78 && // x
    name.charCodeAt(1) === 0x2d && // -
    name.slice(2, 7).toLowerCase() === "echo-"
  );
}

/** Adds the `echo_header` headers to a header object (repeated names become arrays). */
export function applyHeaders(headers: OutgoingHttpHeaders, c: Readonly<Controls>): void {
  if (c.headers === undefined) return;
  const seen = new Set<string>();
  for (const [name, value] of c.headers) {
    const key = name.toLowerCase();
    const prev = headers[key];
    if (seen.has(key) && prev !== undefined) {
      headers[key] = Array.isArray(prev) ? [...prev, value] : [String(prev), value];
    } else {
      headers[key] = value;
      seen.add(key);
    }
  }
}

/**
 * Abrupt end: TCP RST for HTTP/1.x (`resetAndDestroy`), RST_STREAM(INTERNAL_ERROR) for HTTP/2
 * (the connection and its other streams stay up).
 */
export function resetExchange(x: Exchange): void {
  x.reset = true;
  if (x.req.httpVersionMajor === 2) {
    (x.req as Http2ServerRequest).stream.close(h2.NGHTTP2_INTERNAL_ERROR);
  } else {
    // Over TLS the RST goes on the TCP socket under it (a TLS socket has no TCP handle to reset).
    const socket = tcpOf(x.req.socket as Socket);
    const tcp = (socket as Socket & { encrypted?: boolean }).encrypted !== true;
    if (tcp && typeof socket.resetAndDestroy === "function" && !socket.destroyed) socket.resetAndDestroy();
    else socket.destroy();
  }
}

/** Runs `then` after `ms`, unless the client goes away first. */
export function delay(x: Exchange, ms: number, then: () => void): void {
  if (ms <= 0) {
    then();
    return;
  }
  const timer = setTimeout(() => {
    x.res.removeListener("close", cancel);
    then();
  }, ms);
  const cancel = (): void => clearTimeout(timer);
  x.res.once("close", cancel);
}
