import { HOP_BY_HOP, stripHopByHop } from "../http/headers.js";
import type { RawHeaders } from "./types.js";

/**
 * undici's raw header list (`Buffer` name/value pairs, as received) -> RawHeaders without hop-by-hop
 * headers. One pass and one array in the common case; a `Connection` header naming other headers
 * (rare) takes the general path of proxy/http/headers.ts.
 */
export function responseHeadersFromBuffers(raw: Buffer[]): RawHeaders {
  const out: RawHeaders = [];
  let nominates = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString("latin1");
    const value = (raw[i + 1] as Buffer).toString("latin1");
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === "connection" && !isPlainConnectionValue(value)) nominates = true;
      continue;
    }
    out.push(name, value);
  }
  if (!nominates) return out;
  const all: RawHeaders = [];
  for (let i = 0; i < raw.length; i++) all.push((raw[i] as Buffer).toString("latin1"));
  return stripHopByHop(all);
}

/** `keep-alive` and `close` nominate no other header. */
function isPlainConnectionValue(value: string): boolean {
  const v = value.trim().toLowerCase();
  return v === "keep-alive" || v === "close";
}

/** Trailers from undici (`Buffer` pairs) -> RawHeaders, or null when there are none. */
export function trailersFromBuffers(raw: Buffer[] | null | undefined): RawHeaders | null {
  if (raw == null || raw.length === 0) return null;
  const out: RawHeaders = [];
  for (let i = 0; i < raw.length; i++) out.push((raw[i] as Buffer).toString("latin1"));
  return out;
}
