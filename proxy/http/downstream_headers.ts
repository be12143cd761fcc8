import type { RawHeaders } from "../api/headers.js";
import { HOP_BY_HOP, stripHopByHop, teTrailers } from "../api/headers.js";

/**
 * Downstream request headers as they travel on: no pseudo-headers, no `host` (the authority carries
 * it), no hop-by-hop or connection-nominated headers (`te: trailers` kept); HTTP/2 `cookie` fields
 * joined with "; " into one (RFC 9113 §8.2.3). Names lower-cased (Envoy's codecs do), order kept.
 * With `upgrade` (an HTTP/1.1 Upgrade request) `connection` and `upgrade` stay.
 */
export function downstreamHeaders(raw: RawHeaders, upgrade = false): RawHeaders {
  const out: RawHeaders = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.charCodeAt(0) === 58 /* : */) continue;
    const lower = name.toLowerCase();
    if (lower === "host") continue;
    if (upgrade && (lower === "connection" || lower === "upgrade")) {
      // An upgrade request keeps them, in place, as Envoy sends them on to an HTTP/1.1 upstream.
      out.push(lower, raw[i + 1] as string);
      continue;
    }
    if (HOP_BY_HOP.has(lower)) {
      if (lower === "connection" && nominates(raw[i + 1] as string)) return nominated(raw);
      if (lower === "te" && teTrailers(raw[i + 1] as string)) out.push(lower, "trailers");
      continue;
    }
    out.push(lower, raw[i + 1] as string);
  }
  return out;
}

/** HTTP/2 requests may split `cookie` into several fields; HTTP/1.1 wants one. */
export function joinCookies(headers: RawHeaders): RawHeaders {
  let first = -1;
  let joined = "";
  let count = 0;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === "cookie") {
      if (first < 0) first = i;
      joined = count === 0 ? (headers[i + 1] as string) : `${joined}; ${headers[i + 1]}`;
      count++;
    }
  }
  if (count < 2) return headers;
  const out: RawHeaders = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === "cookie") {
      if (i === first) out.push("cookie", joined);
      continue;
    }
    out.push(headers[i] as string, headers[i + 1] as string);
  }
  return out;
}

/** `Connection: keep-alive` / `close` / `upgrade` nominate nothing that matters. */
function nominates(value: string): boolean {
  for (const token of value.split(",")) {
    const t = token.trim().toLowerCase();
    if (t !== "" && t !== "keep-alive" && t !== "close" && t !== "upgrade" && !HOP_BY_HOP.has(t)) return true;
  }
  return false;
}

function nominated(raw: RawHeaders): RawHeaders {
  const stripped = stripHopByHop(raw);
  const out: RawHeaders = [];
  for (let i = 0; i < stripped.length; i += 2) {
    const lower = (stripped[i] as string).toLowerCase();
    if (lower === "host") continue;
    out.push(lower, stripped[i + 1] as string);
  }
  return out;
}
