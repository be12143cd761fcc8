/**
 * The upstream request of a route (forwarded or upgraded): `beginUpstream` picks the host; the head: the rewritten path (`x-envoy-original-path`), the
 * rewritten authority (`x-envoy-original-host`), `x-envoy-expected-rq-timeout-ms`, and the downstream
 * headers (already stripped of hop-by-hop headers by the connection manager) in their case and order.
 */

import type { RawHeaders, UpstreamRequest } from "../api/upstream.js";
import type { ForwardAction, RouteMatch } from "../config/model.js";
import type { DownstreamStream } from "../http/stream.js";
import type { Cluster } from "../upstream/cluster.js";
import type { Host } from "../upstream/host.js";
import { rewritePath } from "./route_table.js";

/**
 * Build the request (body left null; the forwarder sets it). Mutates `stream.path` and
 * `stream.headers` as Envoy mutates its header map, so the access log sees what went upstream.
 */
export function buildUpstreamRequest(
  stream: DownstreamStream,
  action: ForwardAction,
  match: RouteMatch,
  expectedTimeoutMs: number,
): UpstreamRequest {
  const headers: RawHeaders = stream.headers;
  // Envoy's order: the timeout header first, then the route's rewrites (measured).
  if (expectedTimeoutMs > 0) setHeader(headers, "x-envoy-expected-rq-timeout-ms", String(expectedTimeoutMs));
  const original = stream.path;
  const path = rewritePath(action, match, original);
  if (path !== original) {
    headers.push("x-envoy-original-path", original);
    stream.path = path;
  }
  let authority = stream.authority;
  if (action.hostRewriteLiteral !== null) {
    headers.push("x-envoy-original-host", authority);
    authority = action.hostRewriteLiteral;
  }
  return {
    method: stream.method,
    path,
    authority,
    headers,
    body: null,
    pseudoOrder: stream.pseudoOrder,
    scheme: stream.scheme,
  };
}

/**
 * The one beginning of every upstream request, forwarded or upgraded: the load balancer picks the
 * host, which the stream records (`%UPSTREAM_HOST%`), and `auto_host_rewrite` applies. With no
 * healthy host: Envoy's `sendNoHealthyUpstreamResponse` accounting (`upstream_cx_none_healthy`, a 503
 * charged to the cluster, flag `UH`) and null; the caller sends the local reply once its own state is
 * settled.
 */
export function beginUpstream(
  stream: DownstreamStream,
  cluster: Cluster,
  action: ForwardAction,
  req: UpstreamRequest,
  internal: boolean,
  /** A retry state with `previous_hosts` picks the host (a retry avoids the hosts tried). */
  selector: { chooseHost(cluster: Cluster): Host | null } | null = null,
): Host | null {
  const host = selector === null ? cluster.chooseHost() : selector.chooseHost(cluster);
  if (host === null) {
    cluster.stats.upstream_cx_none_healthy.value++;
    cluster.stats.countResponse(503, internal);
    stream.addFlag("UH");
    return null;
  }
  stream.upstreamHost = host.key;
  if (action.autoHostRewrite) req.authority = autoHostAuthority(cluster, host, stream.authority);
  return host;
}

/**
 * `auto_host_rewrite`: the chosen host's DNS name (strict_dns / logical_dns clusters, or endpoints
 * with a `hostname`); a static IP endpoint leaves the authority alone, as in Envoy.
 */
export function autoHostAuthority(cluster: Cluster, host: Host, current: string): string {
  if (cluster.config.type === "static" && host.hostname === host.address) return current;
  return host.hostname;
}

/** Envoy's `x-envoy-expected-rq-timeout-ms`: the per-try timeout when it is shorter, else the route's. */
export function expectedTimeout(routeTimeoutMs: number, perTryTimeoutMs: number): number {
  if (perTryTimeoutMs > 0 && (routeTimeoutMs === 0 || perTryTimeoutMs < routeTimeoutMs))
    return perTryTimeoutMs;
  return routeTimeoutMs;
}

/**
 * Set a header Envoy's router sets (an internal client may have sent its own: the value is replaced
 * in its place), else append it. Only an internal request can still carry x-envoy-* headers.
 */
export function setHeader(headers: RawHeaders, lowerName: string, value: string): void {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) {
      headers[i + 1] = value;
      return;
    }
  }
  headers.push(lowerName, value);
}
