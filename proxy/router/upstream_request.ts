/**
 * The upstream request head for a forward route: the rewritten path (`x-envoy-original-path`), the
 * rewritten authority (`x-envoy-original-host`), `x-envoy-expected-rq-timeout-ms`, and the downstream
 * headers (already stripped of hop-by-hop headers by the connection manager) in their case and order.
 */
import type { ForwardAction, RouteMatch } from "../config/model.js";
import type { RawHeaders, UpstreamRequest } from "../conn_pool/types.js";
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
  if (expectedTimeoutMs > 0) headers.push("x-envoy-expected-rq-timeout-ms", String(expectedTimeoutMs));
  return { method: stream.method, path, authority, headers, body: null };
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
