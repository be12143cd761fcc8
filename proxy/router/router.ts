/**
 * The router filter (Envoy's `envoy.router`): selects the route of a request and acts on it:
 * direct_response, redirect, or forward to a cluster (see ./forward.ts), upgrades included
 * (./upgrade.ts). One Router per listener; it keeps no per-request state.
 */

import type { RequestHandler } from "../api/request_handler.js";
import type { ConfigVersion, ForwardAction, HttpConnectionManagerConfig } from "../config/model.js";
import type { HcmStats } from "../http/stats.js";
import type { DownstreamStream } from "../http/stream.js";
import type { ClusterManager } from "../upstream/cluster.js";
import { type ForwardContext, Forwarder } from "./forward.js";
import { redirectLocation } from "./redirect.js";
import { pickCluster, type RouteSelection, RouteTable } from "./route_table.js";
import { forwardUpgrade } from "./upgrade.js";

export interface RouterDeps {
  clusters: ClusterManager;
  hcmStats: HcmStats;
  /** Uniform in [0, 1): weighted clusters and retry back-off. Default Math.random. */
  random?: () => number;
  /** Request bytes buffered for retries; default 1 MiB (Envoy's per-connection buffer limit). */
  retryBufferLimit?: number;
  /** The config file's dialect (local reply wording, upgrades); default v3. */
  dialect?: ConfigVersion;
}

const DEFAULT_RETRY_BUFFER_LIMIT = 1024 * 1024;

export class Router implements RequestHandler<DownstreamStream> {
  private readonly table: RouteTable;
  private readonly ctx: ForwardContext;
  private readonly clusters: ClusterManager;
  private readonly random: () => number;
  /** The stream `select` is matching, for `lookup`. */
  private selecting: DownstreamStream | null = null;
  private readonly lookup = (name: string): string | undefined =>
    this.selecting === null ? undefined : lookup(this.selecting, name);

  constructor(
    private readonly hcm: HttpConnectionManagerConfig,
    deps: RouterDeps,
  ) {
    this.table = new RouteTable(hcm.routeConfig);
    this.clusters = deps.clusters;
    this.random = deps.random ?? Math.random;
    this.ctx = {
      hcmStats: deps.hcmStats,
      random: this.random,
      retryBufferLimit: deps.retryBufferLimit ?? DEFAULT_RETRY_BUFFER_LIMIT,
      dialect: deps.dialect ?? "v3",
    };
  }

  /** Select the route of a request; null = no route (the caller answers 404). */
  select(stream: DownstreamStream): RouteSelection | null {
    // One lookup function per router (select is synchronous): no closure per request.
    this.selecting = stream;
    const sel = this.table.select(stream.authority, stream.path, this.lookup);
    this.selecting = null;
    if (sel !== null) stream.routeName = sel.route.name;
    return sel;
  }

  /** Route an ordinary request. */
  route(stream: DownstreamStream): void {
    const stats = this.ctx.hcmStats;
    stats.rq_total.value++;
    const sel = this.select(stream);
    if (sel === null) {
      this.noRoute(stream);
      return;
    }
    const action = sel.route.action;
    switch (action.kind) {
      case "direct_response": {
        stats.rq_direct_response.value++;
        stream.sendLocalReply(action.status, action.body ?? "", "direct_response");
        return;
      }
      case "redirect": {
        // Envoy 1.40 answers a route's redirect as a direct response, and counts it so (measured).
        stats.rq_direct_response.value++;
        const location = redirectLocation(action, sel.route.match, stream.authority, stream.path);
        stream.sendLocalReply(action.responseCode, "", "redirect", ["location", location]);
        return;
      }
      case "forward": {
        if (action.idleTimeoutMs !== null) stream.setIdleTimeout(action.idleTimeoutMs);
        const cluster = this.cluster(stream, action);
        if (cluster === undefined) return;
        const policy = action.retryPolicy ?? sel.vhost.retryPolicy;
        new Forwarder(this.ctx, stream, cluster, action, sel.route.match, policy, sel.vhost).start();
      }
    }
  }

  /**
   * Route an upgrade request (`stream.upgrade` set). Envoy's truth table: the route's
   * `upgrade_configs` (v2 `use_websocket`) entry wins, else the HCM's; a disabled upgrade gets 403
   * (`downstream_rq_ws_on_non_ws_route`). `head` holds bytes the client sent after the request head.
   */
  routeUpgrade(stream: DownstreamStream, head: Buffer): void {
    const stats = this.ctx.hcmStats;
    const sel = this.select(stream);
    if (sel === null) {
      stats.rq_total.value++;
      this.noRoute(stream);
      return;
    }
    const type = stream.upgrade ?? "";
    const action = sel.route.action;
    const enabled =
      (action.kind === "forward" ? action.upgrades.get(type) : undefined) ?? this.hcm.upgrades.get(type);
    if (enabled !== true) {
      // Envoy's connection manager refuses it before the router: no rq_total (measured on 1.40).
      stats.downstream_rq_ws_on_non_ws_route.value++;
      stream.sendLocalReply(403, "", "upgrade_failed");
      return;
    }
    if (action.kind !== "forward") {
      this.route(stream);
      return;
    }
    stats.rq_total.value++;
    const cluster = this.cluster(stream, action);
    if (cluster === undefined) return;
    const idle = action.idleTimeoutMs ?? this.hcm.streamIdleTimeoutMs;
    forwardUpgrade(this.ctx, stream, cluster, action, sel.route.match, idle, head);
  }

  private noRoute(stream: DownstreamStream): void {
    this.ctx.hcmStats.no_route.value++;
    stream.addFlag("NR");
    stream.sendLocalReply(404, "", "route_not_found");
  }

  private cluster(stream: DownstreamStream, action: ForwardAction) {
    const name = pickCluster(action, Math.floor(this.random() * 0x100000000));
    stream.upstreamCluster = name;
    const cluster = this.clusters.get(name);
    if (cluster === undefined) {
      this.ctx.hcmStats.no_cluster.value++;
      stream.addFlag("NC");
      stream.sendLocalReply(action.clusterNotFoundResponseCode, "", "cluster_not_found");
    }
    return cluster;
  }
}

/**
 * Route header lookup (also a retry policy's `retriable_request_headers`): pseudo-headers from the
 * stream, others joined with "," as Envoy does.
 */
export function lookup(stream: DownstreamStream, name: string): string | undefined {
  if (name.charCodeAt(0) === 58 /* : */) {
    switch (name) {
      case ":method":
        return stream.method;
      case ":path":
        return stream.path;
      case ":authority":
        return stream.authority;
      case ":scheme":
        return stream.scheme;
      default:
        return undefined;
    }
  }
  if (name === "host") return stream.authority;
  const raw = stream.headers;
  let out: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === name) {
      out = out === undefined ? (raw[i + 1] as string) : `${out},${raw[i + 1]}`;
    }
  }
  return out;
}
