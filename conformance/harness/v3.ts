/**
 * Translate the seed-dialect (v2) documents used by the topologies into Envoy v3, for targets that
 * only read v3 (Envoy >= 1.18). Covers exactly the subset the topologies use; anything else throws,
 * so a topology edit can never silently mean something else on v3.
 */
import { clone } from "./envoy-doc.js";
import type { EnvoyDoc } from "./types.js";

type Obj = Record<string, unknown>;

const HCM =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
const HTTP_OPTIONS = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
const FILE_LOG = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog";

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
    ["cluster", "weighted_clusters", "use_websocket", "timeout", "host_rewrite", "retry_policy"],
    "route.route",
  );
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

export function toV3(doc: EnvoyDoc): EnvoyDoc {
  const sr = doc.static_resources as Obj;
  const clusters = (sr.clusters as Obj[]).map(cluster);
  const anyH2Upstream = (sr.clusters as Obj[]).some((c) => c.http2_protocol_options !== undefined);
  const listeners = (sr.listeners as Obj[]).map((l, i) => ({
    name: `listener_${i}`,
    address: clone(l.address),
    filter_chains: (l.filter_chains as Obj[]).map((fc) => ({
      filters: (fc.filters as Obj[]).map((f) => ({
        name: "envoy.filters.network.http_connection_manager",
        // A sidecar (h1 upstream) accepts extended CONNECT from the front's h2 hop.
        typed_config: hcm(f.config as Obj, !anyH2Upstream),
      })),
    })),
  }));
  const admin = doc.admin as Obj;
  const out: EnvoyDoc = { static_resources: { listeners, clusters } };
  out.admin = {
    address: clone(admin.address),
    access_log: [
      { name: "envoy.access_loggers.file", typed_config: { "@type": FILE_LOG, path: admin.access_log_path } },
    ],
  };
  return out;
}
