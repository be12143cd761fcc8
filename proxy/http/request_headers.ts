/**
 * Request header mutation of Envoy's connection manager (conn_manager_utility.cc
 * `mutateRequestHeaders`, `cleanInternalHeaders`): x-forwarded-for / -proto, internal vs edge
 * requests, x-request-id, and the removal of the x-envoy-* control headers a client may not send.
 * Positions as Envoy's header map keeps them: a header that is replaced keeps its place, a new one
 * is appended (x-forwarded-for, x-forwarded-proto, x-envoy-internal or x-envoy-external-address,
 * x-request-id, in that order), as measured against Envoy 1.40.
 */
import { randomUUID } from "node:crypto";
import { BlockList } from "node:net";
import { networkInterfaces } from "node:os";
import type { RawHeaders } from "../api/headers.js";
import type { CidrRange, ConfigVersion } from "../config/model.js";

export interface RequestHeaderConfig {
  useRemoteAddress: boolean;
  xffNumTrustedHops: number;
  generateRequestId: boolean;
  /** Which client addresses are internal (Envoy's `internal_address_config`). */
  isInternal: (ip: string) => boolean;
  /**
   * What x-forwarded-for gets for a client at exactly 127.0.0.1 or ::1 (`use_remote_address`):
   * Envoy's local address, the first non-loopback IPv4 address of the machine.
   */
  localAddress: string;
}

/**
 * Removed from every request that is not internal (Envoy's `cleanInternalHeaders`): an internal
 * request keeps them, and the router consumes those that drive it (proxy/router/header_policy.ts).
 */
const INTERNAL_ONLY: ReadonlySet<string> = new Set([
  "x-envoy-retriable-status-codes",
  "x-envoy-retriable-header-names",
  "x-envoy-retry-on",
  "x-envoy-retry-grpc-on",
  "x-envoy-max-retries",
  "x-envoy-upstream-alt-stat-name",
  "x-envoy-upstream-rq-timeout-ms",
  "x-envoy-upstream-rq-per-try-timeout-ms",
  "x-envoy-upstream-rq-timeout-alt-response",
  "x-envoy-upstream-stream-duration-ms",
  "x-envoy-expected-rq-timeout-ms",
  "x-envoy-force-trace",
  "x-envoy-ip-tags",
  "x-envoy-original-url",
  "x-envoy-hedge-on-per-try-timeout",
]);

/** Also removed from edge requests (`use_remote_address` and not internal). */
const EDGE_ONLY: ReadonlySet<string> = new Set([
  "x-envoy-decorator-operation",
  "x-envoy-downstream-service-cluster",
  "x-envoy-downstream-service-node",
  "x-envoy-original-path",
  "x-envoy-original-host",
]);

/**
 * Mutate `headers` (no pseudo, host or hop-by-hop headers) in place for a request from `peer` (an IP
 * address, IPv4-mapped IPv6 already unmapped; "" without `use_remote_address`) on a TLS connection
 * (`tls`: x-forwarded-proto `https`) or not. Returns whether the request is internal (it then
 * carries `x-envoy-internal: true`).
 */
export function mutateRequestHeaders(
  headers: RawHeaders,
  peer: string,
  cfg: RequestHeaderConfig,
  tls = false,
): boolean {
  let xff = -1;
  let envoy = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    const len = name.length;
    // Cheap length + first-char screens before lower-casing.
    if (len === 15 && (name === "x-forwarded-for" || name.toLowerCase() === "x-forwarded-for")) xff = i;
    else if (
      len > 8 &&
      (name.charCodeAt(0) | 32) === 120 /* x */ &&
      name.toLowerCase().startsWith("x-envoy-")
    )
      envoy = true;
  }

  let internal: boolean;
  let appended = "";
  if (cfg.useRemoteAddress) {
    internal = xff < 0 && cfg.isInternal(peer);
    appended = peer === "127.0.0.1" || peer === "::1" ? cfg.localAddress : peer;
  } else {
    // The client is the last x-forwarded-for address; only a lone address can be trusted as internal.
    const value = xff < 0 ? "" : (headers[xff + 1] as string);
    internal = value !== "" && !value.includes(",") && cfg.isInternal(value.trim());
  }
  const edge = cfg.useRemoteAddress && !internal;
  if (envoy) clean(headers, internal, edge);

  // Positions after the (rare) clean-up.
  let xfp = -1;
  let rid = -1;
  let external = -1;
  xff = -1;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    const len = name.length;
    if (len === 15 && (name === "x-forwarded-for" || name.toLowerCase() === "x-forwarded-for")) xff = i;
    else if (len === 17 && (name === "x-forwarded-proto" || name.toLowerCase() === "x-forwarded-proto"))
      xfp = i;
    else if (len === 12 && (name === "x-request-id" || name.toLowerCase() === "x-request-id")) rid = i;
    else if (len === 24 && edge && name.toLowerCase() === "x-envoy-external-address") external = i;
  }

  if (cfg.useRemoteAddress) {
    if (xff < 0) headers.push("x-forwarded-for", appended);
    else headers[xff + 1] = `${headers[xff + 1]},${appended}`;
  }
  // Envoy: the connection's scheme, unless a trusted hop (not at the edge, or within the trusted hops) set one.
  const scheme = tls ? "https" : "http";
  if (xfp < 0) headers.push("x-forwarded-proto", scheme);
  else if (cfg.useRemoteAddress && cfg.xffNumTrustedHops === 0) headers[xfp + 1] = scheme;
  if (internal) headers.push("x-envoy-internal", "true");
  else if (edge) {
    if (external < 0) headers.push("x-envoy-external-address", peer);
    else headers[external + 1] = peer;
  }
  if (cfg.generateRequestId) {
    if (rid < 0) headers.push("x-request-id", randomUUID());
    else if (edge || headers[rid + 1] === "") headers[rid + 1] = randomUUID();
  }
  return internal;
}

/** Drop the control headers this client may not send, and any incoming `x-envoy-internal`. */
function clean(headers: RawHeaders, internal: boolean, edge: boolean): void {
  let w = 0;
  for (let r = 0; r < headers.length; r += 2) {
    const lower = (headers[r] as string).toLowerCase();
    if (
      lower === "x-envoy-internal" ||
      (!internal && INTERNAL_ONLY.has(lower)) ||
      (edge && EDGE_ONLY.has(lower))
    )
      continue;
    headers[w] = headers[r] as string;
    headers[w + 1] = headers[r + 1] as string;
    w += 2;
  }
  headers.length = w;
}

/**
 * Which addresses are internal: those `internal_address_config` lists, else the dialect's default.
 * Envoy 1.40 trusts none by default (measured: a client at 10.0.0.1, 192.168.1.1 or 127.0.0.1 is
 * external). The Envoy of the v2 API (1.7) called RFC 1918, exactly 127.0.0.1, fd00::/8 and ::1
 * internal.
 */
export function internalAddressPolicy(
  dialect: ConfigVersion,
  ranges?: readonly CidrRange[],
): (ip: string) => boolean {
  if (ranges !== undefined) {
    const list = new BlockList();
    for (const r of ranges) list.addSubnet(r.prefix, r.length, r.prefix.includes(":") ? "ipv6" : "ipv4");
    return (ip) => ip !== "" && list.check(ip, ip.includes(":") ? "ipv6" : "ipv4");
  }
  return dialect === "v2" ? isRfc1918OrLoopback : noneInternal;
}

function noneInternal(_ip: string): boolean {
  return false;
}

/** Envoy 1.7's `Network::Utility::isInternalAddress`. */
export function isRfc1918OrLoopback(ip: string): boolean {
  if (ip.startsWith("10.") || ip.startsWith("192.168.") || ip === "127.0.0.1" || ip === "::1") return true;
  if (ip.startsWith("172.")) {
    const second = Number(ip.slice(4, ip.indexOf(".", 4)));
    return second >= 16 && second <= 31;
  }
  // fd00::/8: a first group of four hex digits starting with "fd".
  return (
    ip.length > 4 &&
    (ip.charCodeAt(0) | 32) === 102 /* f */ &&
    (ip.charCodeAt(1) | 32) === 100 /* d */ &&
    ip.charCodeAt(4) === 58 /* : */
  );
}

let local: string | null = null;

/**
 * Envoy's local address (`Network::Utility::getLocalAddress(v4)`): the first non-loopback IPv4
 * address of an interface that is up, else 127.0.0.1. Read once.
 */
export function localAddress(): string {
  if (local !== null) return local;
  local = "127.0.0.1";
  for (const addrs of Object.values(networkInterfaces())) {
    const a = addrs?.find((x) => x.family === "IPv4" && !x.internal);
    if (a !== undefined) {
      local = a.address;
      break;
    }
  }
  return local;
}

/** `::ffff:1.2.3.4` -> `1.2.3.4`. */
export function unmapAddress(ip: string): string {
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}
