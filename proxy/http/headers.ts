import type { RawHeaders } from "../conn_pool/types.js";

/**
 * Hop-by-hop and connection-specific headers (RFC 9110 §7.6.1, RFC 9113 §8.2.2): never forwarded
 * across a hop, and illegal on HTTP/2. `te` is the exception: `te: trailers` may pass.
 * Upgrade requests keep `upgrade`/`connection` on HTTP/1.1 hops; that is the tunnel code's business.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "http2-settings",
  "proxy-authenticate",
  "proxy-authorization",
]);

/**
 * Copy `raw` without hop-by-hop headers, without the headers named in `Connection`, without
 * pseudo-headers, keeping `te: trailers` only. Case and order of the rest are preserved.
 */
export function stripHopByHop(raw: RawHeaders): RawHeaders {
  let listed: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === "connection") {
      for (const token of (raw[i + 1] as string).split(",")) {
        const t = token.trim().toLowerCase();
        if (t !== "") {
          listed ??= new Set();
          listed.add(t);
        }
      }
    }
  }
  const out: RawHeaders = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed?.has(lower)) {
      if (lower === "te" && value.trim().toLowerCase() === "trailers") out.push(name, value);
      continue;
    }
    out.push(name, value);
  }
  return out;
}

/** First value of a header (case-insensitive name) in a raw array, or undefined. */
export function getRawHeader(raw: RawHeaders, lowerName: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === lowerName) return raw[i + 1];
  }
  return undefined;
}
