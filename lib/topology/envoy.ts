/**
 * Envoy configs from a proxy spec: the seed's v2 document (the same fields, names and shape as the
 * blog's files: `seedMesh`'s front renders to `seeds/proxy-envoy.yaml` exactly), then, for Envoy 1.40,
 * its v3 translation (./envoy_v3.ts). Envoy-only parts of a topology are edits of the v2 document
 * (`ctx.envoy`), applied before the translation.
 */
import { stringify } from "yaml";
import { toV3 } from "./envoy_v3.js";
import type {
  Address,
  CertFiles,
  ClusterSpec,
  DownstreamTls,
  EnvoyDoc,
  ListenerSpec,
  ProxySpec,
  RouteSpec,
  UpstreamTls,
} from "./model.js";
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

const certificate = (c: CertFiles): Obj => ({
  certificate_chain: { filename: c.cert },
  private_key: { filename: c.key },
});

/** v2 `validation_context`: the trusted CA and, when given, the SANs one of which the peer must carry. */
const validation = (ca: string, sans: string[] | undefined): Obj => ({
  trusted_ca: { filename: ca },
  ...(sans === undefined || sans.length === 0 ? {} : { verify_subject_alt_name: [...sans] }),
});

/** A listener's v2 `filter_chains[].tls_context` (v3: the DownstreamTlsContext of its transport_socket). */
function downstreamTls(t: DownstreamTls): Obj {
  const common: Obj = { tls_certificates: [certificate(t.cert)], alpn_protocols: [...t.alpn] };
  if (t.clientCa !== undefined) common.validation_context = validation(t.clientCa, t.clientSans);
  return {
    common_tls_context: common,
    ...(t.requireClientCert === true ? { require_client_certificate: true } : {}),
  };
}

/** A cluster's v2 `tls_context` (v3: the UpstreamTlsContext of its transport_socket). */
function upstreamTls(t: UpstreamTls, protocol: ClusterSpec["protocol"]): Obj {
  const common: Obj = {
    validation_context: validation(t.ca, t.sans),
    // An HTTP/2 cluster over TLS asks for h2 (Envoy sends no ALPN unless told).
    ...(protocol === "h2c" ? { alpn_protocols: ["h2"] } : {}),
  };
  if (t.clientCert !== undefined) common.tls_certificates = [certificate(t.clientCert)];
  return { sni: t.sni, common_tls_context: common };
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
  if (c.tls !== undefined) out.tls_context = upstreamTls(c.tls, c.protocol);
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

/** One v2 listener: a connection manager with the spec's routes, TLS when the listener has it. */
function listenerDoc(listener: ListenerSpec, routes: RouteSpec[]): Obj {
  const chain: Obj = {
    filters: [
      {
        name: "envoy.http_connection_manager",
        config: {
          codec_type: listener.codec,
          stat_prefix: listener.statPrefix,
          route_config: {
            name: listener.routeConfigName,
            virtual_hosts: [{ name: listener.virtualHostName, domains: ["*"], routes: routes.map(route) }],
          },
          http_filters: [{ name: "envoy.router", config: {} }],
        },
      },
    ],
  };
  if (listener.tls !== undefined) chain.tls_context = downstreamTls(listener.tls);
  return { address: socketAddress(listener.address), filter_chains: [chain] };
}

/** The spec as a v2 document (the seed's dialect), with `ctx.envoy`'s edits applied. */
export function envoyDoc(spec: ProxySpec, ctx: RenderContext): EnvoyDoc {
  const listeners = [spec.listener, ...(spec.extraListeners ?? [])];
  const doc: EnvoyDoc = {
    static_resources: {
      listeners: listeners.map((l) => listenerDoc(l, spec.routes)),
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
