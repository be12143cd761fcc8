/**
 * Envoy configs from a proxy spec: the seed's v2 document (the same fields, names and shape as the
 * blog's files: `seedMesh`'s front renders to `seeds/proxy-envoy.yaml` exactly), then, for Envoy 1.40,
 * its v3 translation (./envoy_v3.ts). Envoy-only parts of a topology are edits of the v2 document
 * (`ctx.envoy`), applied before the translation.
 */
import { stringify } from "yaml";
import { toV3 } from "./envoy_v3.js";
import type { Address, ClusterSpec, EnvoyDoc, ProxySpec, RouteSpec } from "./model.js";
import type { RenderContext } from "./render.js";

type Obj = Record<string, unknown>;

/** Envoy's duration text: 250 -> "0.25s". */
export const seconds = (ms: number): string => `${ms / 1000}s`;

const socketAddress = (a: Address): Obj => ({ socket_address: { address: a.host, port_value: a.port } });

/**
 * Connection limits far above any benchmark's load (ws-idle holds 5,000 sockets): Envoy's defaults
 * (1,024 connections, pending and active requests) would refuse the 1,025th idle WebSocket.
 */
const BENCH_LIMIT = 1_000_000;

function route(r: RouteSpec): Obj {
  const action: Obj =
    typeof r.to === "string"
      ? { cluster: r.to }
      : {
          weighted_clusters: {
            clusters: r.to.map((w) => ({ name: w.cluster, weight: w.weight })),
            total_weight: r.to.reduce((sum, w) => sum + w.weight, 0),
          },
        };
  if (r.websocket === true) action.use_websocket = true;
  if (r.timeoutMs !== undefined) action.timeout = seconds(r.timeoutMs);
  if (r.hostRewrite !== undefined) action.host_rewrite = r.hostRewrite;
  return { match: { prefix: r.prefix }, route: action };
}

function cluster(c: ClusterSpec, ctx: RenderContext): Obj {
  const out: Obj = {
    name: c.name,
    connect_timeout: seconds(c.connectTimeoutMs),
    type: c.discovery,
    lb_policy: c.lb,
  };
  if (c.dnsRefreshMs !== undefined) out.dns_refresh_rate = seconds(c.dnsRefreshMs);
  if (c.protocol === "h2c") out.http2_protocol_options = {};
  if (c.hosts.some((h) => h.weight !== undefined)) {
    // Host weights need v2's endpoint form (`hosts` has no weight).
    out.load_assignment = {
      cluster_name: c.name,
      endpoints: [
        {
          lb_endpoints: c.hosts.map((h) => ({
            endpoint: { address: socketAddress(h) },
            ...(h.weight === undefined ? {} : { load_balancing_weight: h.weight }),
          })),
        },
      ],
    };
  } else {
    out.hosts = c.hosts.map(socketAddress);
  }
  if (ctx.resolver !== undefined && c.discovery === "strict_dns")
    out.dns_resolvers = [socketAddress(ctx.resolver)];
  if (ctx.profile === "bench")
    out.circuit_breakers = {
      thresholds: [
        { max_connections: BENCH_LIMIT, max_pending_requests: BENCH_LIMIT, max_requests: BENCH_LIMIT },
      ],
    };
  return out;
}

/** The spec as a v2 document (the seed's dialect), with `ctx.envoy`'s edits applied. */
export function envoyDoc(spec: ProxySpec, ctx: RenderContext): EnvoyDoc {
  const { listener } = spec;
  const doc: EnvoyDoc = {
    static_resources: {
      listeners: [
        {
          address: socketAddress(listener.address),
          filter_chains: [
            {
              filters: [
                {
                  name: "envoy.http_connection_manager",
                  config: {
                    codec_type: listener.codec,
                    stat_prefix: listener.statPrefix,
                    route_config: {
                      name: listener.routeConfigName,
                      virtual_hosts: [
                        { name: listener.virtualHostName, domains: ["*"], routes: spec.routes.map(route) },
                      ],
                    },
                    http_filters: [{ name: "envoy.router", config: {} }],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: spec.clusters.map((c) => cluster(c, ctx)),
    },
  };
  if (spec.admin !== null)
    doc.admin = { access_log_path: spec.admin.accessLogPath, address: socketAddress(spec.admin) };
  ctx.envoy?.edit?.(doc);
  return doc;
}

/** YAML text: the v2 document, or its translation to v3 for Envoy 1.40. */
export function renderEnvoy(spec: ProxySpec, dialect: "envoy-v2" | "envoy-v3", ctx: RenderContext): string {
  const doc = envoyDoc(spec, ctx);
  return stringify(dialect === "envoy-v3" ? toV3(doc) : doc);
}
