/**
 * Request header mutation of Envoy's connection manager (conn_manager_utility.cc
 * `mutateRequestHeaders`): x-forwarded-for / -proto, internal vs edge requests, x-request-id, and
 * the anti-spoofing removal of x-envoy-* control headers from external requests.
 */
import { randomUUID } from "node:crypto";
import type { RawHeaders } from "../conn_pool/types.js";

export interface RequestHeaderConfig {
  useRemoteAddress: boolean;
  xffNumTrustedHops: number;
  generateRequestId: boolean;
}

/** Removed from requests that are not internal (Envoy's `cleanInternalHeaders`). */
const INTERNAL_ONLY: ReadonlySet<string> = new Set([
  "x-envoy-retry-on",
  "x-envoy-retry-grpc-on",
  "x-envoy-max-retries",
  "x-envoy-upstream-alt-stat-name",
  "x-envoy-upstream-rq-timeout-ms",
  "x-envoy-upstream-rq-per-try-timeout-ms",
  "x-envoy-upstream-rq-timeout-alt-response",
  "x-envoy-expected-rq-timeout-ms",
  "x-envoy-force-trace",
  "x-envoy-ip-tags",
  "x-envoy-original-url",
  "x-envoy-hedge-on-per-try-timeout",
]);

/**
 * Mutate `headers` (no pseudo, host or hop-by-hop headers) in place for a request from `peer` (an IP
 * address, IPv4-mapped IPv6 already unmapped). Returns the same array.
 */
export function mutateRequestHeaders(
  headers: RawHeaders,
  peer: string,
  cfg: RequestHeaderConfig,
): RawHeaders {
  let xff = -1;
  let xfp = -1;
  let rid = -1;
  let envoy = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    const len = name.length;
    // Cheap length + first-char screens before lower-casing.
    if (len === 15 && (name === "x-forwarded-for" || name.toLowerCase() === "x-forwarded-for")) xff = i;
    else if (len === 17 && (name === "x-forwarded-proto" || name.toLowerCase() === "x-forwarded-proto"))
      xfp = i;
    else if (len === 12 && (name === "x-request-id" || name.toLowerCase() === "x-request-id")) rid = i;
    else if (
      len > 8 &&
      (name.charCodeAt(0) | 32) === 120 /* x */ &&
      name.toLowerCase().startsWith("x-envoy-")
    )
      envoy = true;
  }

  let internal: boolean;
  if (cfg.useRemoteAddress) {
    internal = xff < 0 && isInternalAddress(peer);
    if (xff < 0) headers.push("x-forwarded-for", peer);
    else headers[xff + 1] = `${headers[xff + 1]}, ${peer}`;
  } else {
    const value = xff < 0 ? "" : (headers[xff + 1] as string);
    internal = value !== "" && !value.includes(",") && isInternalAddress(value.trim());
  }
  const edge = cfg.useRemoteAddress && !internal;

  if (xfp < 0) headers.push("x-forwarded-proto", "http");
  else if (cfg.useRemoteAddress && cfg.xffNumTrustedHops === 0) headers[xfp + 1] = "http";

  if (cfg.generateRequestId) {
    if (rid < 0) headers.push("x-request-id", randomUUID());
    else if (edge) headers[rid + 1] = randomUUID();
  }

  if (envoy || internal || edge) {
    // Rare path: rebuild without x-envoy-internal (and the internal-only headers when external).
    let w = 0;
    for (let r = 0; r < headers.length; r += 2) {
      const lower = (headers[r] as string).toLowerCase();
      if (
        lower === "x-envoy-internal" ||
        (edge && lower === "x-envoy-external-address") ||
        (!internal && INTERNAL_ONLY.has(lower))
      )
        continue;
      headers[w] = headers[r] as string;
      headers[w + 1] = headers[r + 1] as string;
      w += 2;
    }
    headers.length = w;
    if (internal) headers.push("x-envoy-internal", "true");
    if (edge) headers.push("x-envoy-external-address", peer);
  }
  return headers;
}

/** Envoy's default internal addresses: RFC 1918, loopback, IPv6 ULA and loopback. */
export function isInternalAddress(ip: string): boolean {
  if (ip.startsWith("10.") || ip.startsWith("127.") || ip.startsWith("192.168.")) return true;
  if (ip.startsWith("172.")) {
    const second = Number(ip.slice(4, ip.indexOf(".", 4)));
    return second >= 16 && second <= 31;
  }
  if (ip === "::1") return true;
  const c = ip.charCodeAt(0) | 32;
  return (
    c === 102 /* f */ &&
    ((ip.charCodeAt(1) | 32) === 99 || (ip.charCodeAt(1) | 32) === 100) &&
    ip.charCodeAt(4) === 58
  );
}

/** `::ffff:1.2.3.4` -> `1.2.3.4`. */
export function unmapAddress(ip: string): string {
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}
