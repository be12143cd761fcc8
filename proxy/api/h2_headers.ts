/**
 * Header conversions of the proxy's HTTP/2 upstream (`lib/http2` takes and gives flat
 * `[name, value, ...]` lists, as RawHeaders are): what changes is case, the pseudo-headers and the
 * connection-specific fields HTTP/2 forbids.
 */
import { H2_SINGLE_VALUE_HEADERS } from "../../lib/h2_single_value.js";
import { HOP_BY_HOP } from "./headers.js";
import type { RawHeaders, UpstreamRequest } from "./upstream.js";

/** Envoy's pseudo-header order for a request that came over HTTP/1.1. */
const H1_PSEUDO_ORDER: readonly string[] = [":authority", ":path", ":method", ":scheme"];

/**
 * The request head of an ordinary (non-CONNECT) request as a flat field list for `lib/http2`:
 * pseudo-headers in `req.pseudoOrder`, then `addH2Fields` of the request's headers.
 */
export function h2RequestFields(req: UpstreamRequest): string[] {
  const out: string[] = [];
  const order = req.pseudoOrder ?? H1_PSEUDO_ORDER;
  let seen = 0;
  for (let i = 0; i < order.length; i++) {
    const name = order[i] as string;
    if (name === ":method" && (seen & 1) === 0) {
      seen |= 1;
      out.push(name, req.method);
    } else if (name === ":path" && (seen & 2) === 0) {
      seen |= 2;
      out.push(name, req.path);
    } else if (name === ":authority" && (seen & 4) === 0) {
      seen |= 4;
      out.push(name, req.authority);
    } else if (name === ":scheme" && (seen & 8) === 0) {
      seen |= 8;
      out.push(name, req.scheme ?? "http");
    }
  }
  // A client's order that missed one (it cannot, on a valid request) still sends all four.
  if (seen !== 15) {
    if ((seen & 1) === 0) out.push(":method", req.method);
    if ((seen & 2) === 0) out.push(":path", req.path);
    if ((seen & 4) === 0) out.push(":authority", req.authority);
    if ((seen & 8) === 0) out.push(":scheme", req.scheme ?? "http");
  }
  return addH2Fields(out, req.headers, false);
}

/**
 * RFC 8441 extended CONNECT for an upgrade: `:method CONNECT`, `:protocol`, `:path`, `:authority`,
 * `:scheme`, then the request's headers without `content-length` (a tunnel has no length).
 */
export function h2ConnectFields(req: UpstreamRequest, protocol: string): string[] {
  const out = [
    ":method",
    "CONNECT",
    ":protocol",
    protocol,
    ":path",
    req.path,
    ":authority",
    req.authority,
    ":scheme",
    req.scheme ?? "http",
  ];
  return addH2Fields(out, req.headers, true);
}

/**
 * Appends RawHeaders to a flat HTTP/2 field list: names lower-cased, connection-specific fields
 * dropped (`te` kept only as `trailers`), no `host` (`:authority` carries it), no `expect` (the
 * connection manager answers 100-continue) or `http2-settings`, only the first of a header
 * node:http2 sent once (`lib/h2_single_value.ts`: what the upstream saw before our own client), in
 * their order: repeats stay separate fields. `noLength`: drop `content-length` too.
 */
export function addH2Fields(out: string[], raw: RawHeaders, noLength: boolean): string[] {
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (
      name.charCodeAt(0) === 58 /* ':' */ ||
      name === "host" ||
      name === "expect" ||
      name === "http2-settings" ||
      (noLength && name === "content-length")
    )
      continue;
    if (HOP_BY_HOP.has(name)) {
      if (name === "te" && value.trim().toLowerCase() === "trailers" && !hasField(out, "te"))
        out.push("te", "trailers");
      continue;
    }
    if (H2_SINGLE_VALUE_HEADERS.has(name) && hasField(out, name)) continue;
    out.push(name, value);
  }
  return out;
}

function hasField(fields: readonly string[], name: string): boolean {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return true;
  return false;
}

/**
 * A response head from `lib/http2` (validated: `:status` first, no connection-specific field but
 * `te: trailers`) -> RawHeaders without pseudo-headers and hop-by-hop headers. The common case
 * reuses the array: the two leading entries are shifted off (V8 trims the front in place).
 */
export function rawFromH2Response(fields: string[]): RawHeaders {
  if (fields[0] !== ":status") return rawFromH2(fields);
  for (let i = 2; i < fields.length; i += 2) {
    if (fields[i] === "te" || (fields[i] as string).charCodeAt(0) === 58) return rawFromH2(fields);
  }
  fields.shift();
  fields.shift();
  return fields;
}

/** RawHeaders trailers -> a flat HTTP/2 trailer list (lower case, no pseudo or connection-specific fields). */
export function h2TrailerFields(raw: RawHeaders | undefined): string[] {
  const out: string[] = [];
  if (raw === undefined) return out;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (name.charCodeAt(0) === 58 || HOP_BY_HOP.has(name)) continue;
    out.push(name, raw[i + 1] as string);
  }
  return out;
}

/** A flat HTTP/2 field list (lower-case) -> RawHeaders, pseudo-headers and connection-specific
 * headers removed (a copy). */
export function rawFromH2(raw: string[]): RawHeaders {
  const out: RawHeaders = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.charCodeAt(0) === 58 || HOP_BY_HOP.has(name)) continue;
    out.push(name, raw[i + 1] as string);
  }
  return out;
}
