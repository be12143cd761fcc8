/**
 * Translate the seed-dialect (v2) documents used by the topologies into Envoy v3, for targets that
 * only read v3 (Envoy >= 1.18). Covers exactly the subset the topologies use; anything else throws,
 * so a topology edit can never silently mean something else on v3.
 */
import { clone } from "./envoy_doc.js";
import type { EnvoyDoc } from "./model.js";

type Obj = Record<string, unknown>;

const HCM =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
const HTTP_OPTIONS = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
const FILE_LOG = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog";
const TLS_SOCKET = "envoy.transport_sockets.tls";
const DOWNSTREAM_TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
const UPSTREAM_TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";
const PREVIOUS_HOSTS =
  "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate";

const known = (o: Obj, keys: string[], what: string) => {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw new Error(`v3 translation: unsupported field ${what}.${k}`);
  }
};

function route(r: Obj): Obj {
  known(r, ["match", "route"], "route");
  const action = clone(r.route as Obj);
  known(
    action,
    [
      "cluster",
      "weighted_clusters",
      "use_websocket",
      "timeout",
      "host_rewrite",
      "prefix_rewrite",
      "retry_policy",
    ],
    "route.route",
  );
  const retry = action.retry_policy as Obj | undefined;
  if (retry !== undefined) {
    known(
      retry,
      [
        "retry_on",
        "num_retries",
        "retriable_status_codes",
        "retriable_headers",
        "retry_host_predicate",
        "host_selection_retry_max_attempts",
      ],
      "route.route.retry_policy",
    );
    // v2's `{name}` (config optional) is v3's `{name, typed_config}`.
    const predicates = retry.retry_host_predicate as Obj[] | undefined;
    if (predicates !== undefined) {
      retry.retry_host_predicate = predicates.map((p) => {
        if (p.name !== "envoy.retry_host_predicates.previous_hosts") {
          throw new Error(`v3 translation: unsupported retry_host_predicate ${String(p.name)}`);
        }
        return { name: p.name, typed_config: { "@type": PREVIOUS_HOSTS } };
      });
    }
  }
  // v2's `host_rewrite` is v3's `host_rewrite_literal` (the same field).
  if (action.host_rewrite !== undefined) {
    action.host_rewrite_literal = action.host_rewrite;
    delete action.host_rewrite;
  }
  if (action.use_websocket === true) {
    action.upgrade_configs = [{ upgrade_type: "websocket" }];
  }
  delete action.use_websocket;
  const weighted = action.weighted_clusters as Obj | undefined;
  if (weighted) delete weighted.total_weight;
  return { match: clone(r.match), route: action };
}

function hcm(config: Obj, allowConnect: boolean): Obj {
  known(config, ["codec_type", "stat_prefix", "route_config", "http_filters"], "http_connection_manager");
  const rc = clone(config.route_config as Obj);
  const vhosts = (rc.virtual_hosts as Obj[]).map((vh) => ({
    ...vh,
    routes: (vh.routes as Obj[]).map(route),
  }));
  const out: Obj = {
    "@type": HCM,
    codec_type: String(config.codec_type ?? "auto").toUpperCase(),
    stat_prefix: config.stat_prefix,
    route_config: { ...rc, virtual_hosts: vhosts },
    http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": ROUTER } }],
  };
  // Envoy carries a WebSocket over an HTTP/2 hop as RFC 8441 extended CONNECT, which the receiving
  // side accepts only with allow_connect (without it Envoy's WebSocket through the mesh gets a 503).
  if (allowConnect) out.http2_protocol_options = { allow_connect: true };
  return out;
}

/**
 * v2's `common_tls_context` in v3: the same fields, but v2's `verify_subject_alt_name` (exact DNS
 * names) is v3's `match_typed_subject_alt_names`.
 */
function commonTls(c: Obj): Obj {
  known(c, ["tls_certificates", "alpn_protocols", "validation_context"], "common_tls_context");
  const out = clone(c);
  const v = out.validation_context as Obj | undefined;
  if (v !== undefined) {
    known(v, ["trusted_ca", "verify_subject_alt_name"], "validation_context");
    const sans = v.verify_subject_alt_name as string[] | undefined;
    delete v.verify_subject_alt_name;
    if (sans !== undefined)
      v.match_typed_subject_alt_names = sans.map((exact) => ({ san_type: "DNS", matcher: { exact } }));
  }
  return out;
}

/** v2's listener `tls_context` / cluster `tls_context` as a v3 `transport_socket`. */
function transportSocket(tls: Obj, side: "downstream" | "upstream"): Obj {
  known(
    tls,
    side === "downstream"
      ? ["common_tls_context", "require_client_certificate"]
      : ["common_tls_context", "sni"],
    `${side} tls_context`,
  );
  const typed: Obj = {
    "@type": side === "downstream" ? DOWNSTREAM_TLS : UPSTREAM_TLS,
    ...clone(tls),
    common_tls_context: commonTls(tls.common_tls_context as Obj),
  };
  return { name: TLS_SOCKET, typed_config: typed };
}

const CARES_RESOLVER =
  "type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig";

function cluster(c: Obj): Obj {
  known(
    c,
    [
      "name",
      "connect_timeout",
      "type",
      "lb_policy",
      "http2_protocol_options",
      "hosts",
      "load_assignment",
      "dns_refresh_rate",
      "dns_resolvers",
      "health_checks",
      "outlier_detection",
      "circuit_breakers",
      "common_lb_config",
      "tls_context",
    ],
    "cluster",
  );
  const out: Obj = {
    name: c.name,
    connect_timeout: c.connect_timeout,
    type: String(c.type).toUpperCase(),
    lb_policy: String(c.lb_policy ?? "round_robin").toUpperCase(),
    // v2 had load_assignment too (endpoint weights need it); v2 `hosts` become one locality.
    load_assignment:
      c.load_assignment !== undefined
        ? clone(c.load_assignment)
        : {
            cluster_name: c.name,
            endpoints: [
              {
                lb_endpoints: (c.hosts as Obj[]).map((h) => ({ endpoint: { address: clone(h) } })),
              },
            ],
          },
  };
  if (c.dns_refresh_rate !== undefined) out.dns_refresh_rate = c.dns_refresh_rate;
  if (c.tls_context !== undefined) out.transport_socket = transportSocket(c.tls_context as Obj, "upstream");
  // Spelled the same in v2 and v3 for the subset the topologies use.
  for (const key of ["health_checks", "outlier_detection", "circuit_breakers", "common_lb_config"]) {
    if (c[key] !== undefined) out[key] = clone(c[key]);
  }
  // v3 deprecates `dns_resolvers`: the same servers as the c-ares resolver's config.
  if (c.dns_resolvers !== undefined) {
    out.typed_dns_resolver_config = {
      name: "envoy.network.dns_resolver.cares",
      typed_config: { "@type": CARES_RESOLVER, resolvers: clone(c.dns_resolvers) },
    };
  }
  if (c.http2_protocol_options !== undefined) {
    // The seed's `http2_protocol_options: {}` as it is. Envoy needs no `allow_connect` on the
    // sending side: it sends a WebSocket over this hop as extended CONNECT either way.
    out.typed_extension_protocol_options = {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": HTTP_OPTIONS,
        explicit_http_config: { http2_protocol_options: {} },
      },
    };
  }
  return out;
}

/** A v2 listener in v3 (`name` kept, else `listener_<i>`). */
function listener(l: Obj, i: number, anyH2Upstream: boolean): Obj {
  return {
    name: l.name ?? `listener_${i}`,
    address: clone(l.address),
    filter_chains: (l.filter_chains as Obj[]).map((fc) => {
      known(fc, ["filters", "tls_context"], "filter_chain");
      return {
        filters: (fc.filters as Obj[]).map((f) => ({
          name: "envoy.filters.network.http_connection_manager",
          // A sidecar (h1 upstream) accepts extended CONNECT from the front's h2 hop.
          typed_config: hcm(f.config as Obj, !anyH2Upstream),
        })),
        ...(fc.tls_context === undefined
          ? {}
          : { transport_socket: transportSocket(fc.tls_context as Obj, "downstream") }),
      };
    }),
  };
}

/** v2 `{lds,cds}_config: {path}` -> v3 `path_config_source` (the v3 spelling; `path` is deprecated). */
function dynamicResources(d: Obj): Obj {
  known(d, ["lds_config", "cds_config"], "dynamic_resources");
  const out: Obj = {};
  for (const key of ["lds_config", "cds_config"]) {
    const source = d[key] as Obj | undefined;
    if (source === undefined) continue;
    known(source, ["path"], `dynamic_resources.${key}`);
    out[key] = { path_config_source: { path: source.path }, resource_api_version: "V3" };
  }
  return out;
}

const RESOURCE_V3 = {
  listener: "type.googleapis.com/envoy.config.listener.v3.Listener",
  cluster: "type.googleapis.com/envoy.config.cluster.v3.Cluster",
};
const RESOURCE_V2 = {
  listener: "type.googleapis.com/envoy.api.v2.Listener",
  cluster: "type.googleapis.com/envoy.api.v2.Cluster",
};

/**
 * A file-based LDS/CDS DiscoveryResponse as the target reads it: v2 resources (`@type`
 * envoy.api.v2.*) or translated to v3. LDS listeners are translated as if no cluster spoke HTTP/2.
 */
export function discoveryFile(
  kind: "listener" | "cluster",
  versionInfo: string,
  resources: Obj[],
  dialect: "v2" | "v3",
): EnvoyDoc {
  const typed = resources.map((r, i) => {
    if (dialect === "v2") return { "@type": RESOURCE_V2[kind], ...clone(r) };
    return { "@type": RESOURCE_V3[kind], ...(kind === "listener" ? listener(r, i, false) : cluster(r)) };
  });
  return { version_info: versionInfo, resources: typed };
}

export function toV3(doc: EnvoyDoc): EnvoyDoc {
  const sr = (doc.static_resources ?? {}) as Obj;
  const v2Clusters = (sr.clusters ?? []) as Obj[];
  const clusters = v2Clusters.map(cluster);
  const anyH2Upstream = v2Clusters.some((c) => c.http2_protocol_options !== undefined);
  const listeners = ((sr.listeners ?? []) as Obj[]).map((l, i) => listener(l, i, anyH2Upstream));
  const admin = doc.admin as Obj | undefined;
  const out: EnvoyDoc = { static_resources: { listeners, clusters } };
  if (doc.node !== undefined) out.node = clone(doc.node);
  if (doc.dynamic_resources !== undefined)
    out.dynamic_resources = dynamicResources(doc.dynamic_resources as Obj);
  // A spec without admin (the benchmarks' proxies) has none in v3 either.
  if (admin !== undefined)
    out.admin = {
      address: clone(admin.address),
      access_log: [
        {
          name: "envoy.access_loggers.file",
          typed_config: { "@type": FILE_LOG, path: admin.access_log_path },
        },
      ],
    };
  return out;
}
