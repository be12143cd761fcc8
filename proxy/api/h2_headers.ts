import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import { H2_SINGLE_VALUE_HEADERS } from "../../lib/h2_single_value.js";
import { HOP_BY_HOP } from "./headers.js";
import type { RawHeaders, UpstreamRequest } from "./upstream.js";

/**
 * RawHeaders -> an HTTP/2 header object: names lower-cased, repeats as arrays (one field each on the
 * wire), connection-specific headers dropped (`te` kept only as `trailers`), no `host` (`:authority`
 * carries it), `expect` dropped (the connection manager answers 100-continue).
 */
export function addH2Headers(out: OutgoingHttpHeaders, raw: RawHeaders): OutgoingHttpHeaders {
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    // `http2-settings` passes HTTP/1.1 hops (as in Envoy) but node:http2 refuses to send it.
    if (
      name.charCodeAt(0) === 58 /* ':' */ ||
      name === "host" ||
      name === "expect" ||
      name === "http2-settings"
    )
      continue;
    if (HOP_BY_HOP.has(name)) {
      if (name === "te" && value.trim().toLowerCase() === "trailers") out.te = "trailers";
      continue;
    }
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (H2_SINGLE_VALUE_HEADERS.has(name))
      continue; // node:http2 refuses a second one: the first wins
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [String(prev), value];
  }
  return out;
}

/** Envoy's pseudo-header order for a request that came over HTTP/1.1. */
const H1_PSEUDO_ORDER: readonly string[] = [":authority", ":path", ":method", ":scheme"];

/** The request head of an ordinary (non-CONNECT) request, pseudo-headers in `req.pseudoOrder`. */
export function h2RequestHeaders(req: UpstreamRequest): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name of req.pseudoOrder ?? H1_PSEUDO_ORDER) {
    if (name === ":method") out[name] = req.method;
    else if (name === ":path") out[name] = req.path;
    else if (name === ":authority") out[name] = req.authority;
    else if (name === ":scheme") out[name] = "http";
  }
  // A client's order that missed one (it cannot, on a valid request) still sends all four.
  out[":method"] ??= req.method;
  out[":path"] ??= req.path;
  out[":authority"] ??= req.authority;
  out[":scheme"] ??= "http";
  return addH2Headers(out, req.headers);
}

/** node:http2's raw response list (`[name, value, ...]`, lower-case) -> RawHeaders, pseudo-headers and
 * connection-specific headers removed. */
export function rawFromH2(raw: string[]): RawHeaders {
  const out: RawHeaders = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.charCodeAt(0) === 58 || HOP_BY_HOP.has(name)) continue;
    out.push(name, raw[i + 1] as string);
  }
  return out;
}

/** A header object (trailers) -> RawHeaders; arrays become repeated fields. */
export function rawFromH2Object(headers: IncomingHttpHeaders): RawHeaders {
  const out: RawHeaders = [];
  for (const name of Object.keys(headers)) {
    if (name.charCodeAt(0) === 58) continue;
    const v = headers[name];
    if (Array.isArray(v)) for (const item of v) out.push(name, item);
    else if (v !== undefined) out.push(name, String(v));
  }
  return out;
}

/** RawHeaders trailers -> an HTTP/2 trailer object (no pseudo or connection-specific fields). */
export function h2Trailers(raw: RawHeaders | undefined): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  if (raw === undefined) return out;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (name.charCodeAt(0) === 58 || HOP_BY_HOP.has(name)) continue;
    const prev = out[name];
    const value = raw[i + 1] as string;
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [String(prev), value];
  }
  return out;
}
