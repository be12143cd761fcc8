/**
 * Headers as every step of the proxy passes them: flat arrays `[name, value, name, value, ...]` like
 * Node's `rawHeaders`: original case and order kept, repeats kept, no pseudo-headers. Between the
 * connection manager and the pools, hop-by-hop headers are already removed.
 */
export type RawHeaders = string[];

/**
 * Hop-by-hop and connection-specific headers as Envoy 1.40 removes them (measured): `connection`,
 * `keep-alive`, `proxy-connection`, `transfer-encoding`, `upgrade`, and `te` except `te: trailers`
 * (RFC 9113 §8.2.2 forbids exactly these on HTTP/2). Envoy forwards `trailer`,
 * `proxy-authorization`, `proxy-authenticate` and `http2-settings`. A request also loses the
 * headers its `Connection` names (a response keeps them). Upgrade requests keep `upgrade`/`connection`
 * on HTTP/1.1 hops; that is the tunnel code's business.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
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
      if (lower === "te" && teTrailers(value)) out.push(name, "trailers");
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

let dateSecond = -1;
let dateText = "";

/** The `date` header value (RFC 9110 IMF-fixdate), built at most once a second. */
export function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

/** Whether a raw header list has a header (`lowerName` lower-case); names compared case-insensitively. */
export function hasRawHeader(raw: RawHeaders, lowerName: string): boolean {
  const len = lowerName.length;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === len && (name === lowerName || name.toLowerCase() === lowerName)) return true;
  }
  return false;
}

/** `te` names `trailers` among its codings: Envoy forwards it as `te: trailers` (the rest dropped). */
export function teTrailers(value: string): boolean {
  for (const token of value.split(",")) {
    const semi = token.indexOf(";");
    if ((semi < 0 ? token : token.slice(0, semi)).trim().toLowerCase() === "trailers") return true;
  }
  return false;
}
