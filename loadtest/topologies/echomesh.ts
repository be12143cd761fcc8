/**
 * Envoy-format YAML for one hop of each benchmark topology, in two dialects of the same config:
 *
 *   proxyYaml (v2, the seed's shape: `config:`, `hosts`, cluster-level `http2_protocol_options`,
 *     `use_websocket` on /ws): what our proxy reads in the benchmarks.
 *   envoyYaml (v3, the same listener, routes and cluster): what Envoy 1.40 reads.
 *
 *   single hop:  listener :port (codec auto: HTTP/1.1 and h2c) -> round robin over the upstreams
 *   h2 upstream: same, cluster speaks h2c (prior knowledge) to the upstreams
 *   mesh:        front (h1 in, h2c out to the sidecars) + one sidecar per echo (h2c in, h1 out),
 *                each one hop (see targets/proxy_family.ts)
 *
 * What v3 needs beyond a field-by-field translation, because Envoy 1.40 means something else by it:
 *  - /ws: `upgrade_configs: [{upgrade_type: websocket}]` on the route (v2's `use_websocket` was
 *    removed from the v3 protos).
 *  - sidecar: `http2_protocol_options: {allow_connect: true}` on its connection manager, so that a
 *    WebSocket arriving from the front as RFC 8441 extended CONNECT over h2c is accepted (the v2 seed
 *    carried it as a raw upgrade without it).
 *  - cluster: `circuit_breakers` raised from Envoy's defaults (1,024 connections, pending and active
 *    requests), which would refuse the 1,025th idle WebSocket of `ws-idle`. Our proxy has no circuit
 *    breakers and HAProxy and nginx are configured for 8,000 and 12,000 connections; see README.
 */
import { stringify } from "yaml";

export interface HopOptions {
  port: number;
  upstreams: number[];
  /** Speak h2c to the upstreams. */
  h2: boolean;
  /** A mesh sidecar (h2c in from the front). v3 only: accept extended CONNECT for WebSockets. */
  sidecar?: boolean;
}

type Obj = Record<string, unknown>;

const CLUSTER = "backends";
const CONNECT_TIMEOUT = "0.25s";

const address = (port: number): Obj => ({ socket_address: { address: "127.0.0.1", port_value: port } });

/** /ws carries WebSockets, everything else is plain HTTP; both to the one cluster. */
function routeConfig(websocket: Obj): Obj {
  return {
    name: "local_route",
    virtual_hosts: [
      {
        name: "backend",
        domains: ["*"],
        routes: [
          { match: { prefix: "/ws" }, route: { cluster: CLUSTER, ...websocket } },
          { match: { prefix: "/" }, route: { cluster: CLUSTER } },
        ],
      },
    ],
  };
}

/** One listener on `port` with the connection manager `filter`, one cluster. v3 listeners are named. */
function bootstrap(opts: HopOptions, filter: Obj, cluster: Obj, v3: boolean): string {
  const listener = {
    ...(v3 ? { name: "listener_0" } : {}),
    address: address(opts.port),
    filter_chains: [{ filters: [filter] }],
  };
  return stringify({ static_resources: { listeners: [listener], clusters: [cluster] } });
}

/** The seed's v2 dialect (our proxy). */
export function proxyYaml(opts: HopOptions): string {
  const cluster: Obj = {
    name: CLUSTER,
    connect_timeout: CONNECT_TIMEOUT,
    type: "static",
    lb_policy: "round_robin",
    hosts: opts.upstreams.map(address),
  };
  if (opts.h2) cluster.http2_protocol_options = {};
  const filter = {
    name: "envoy.http_connection_manager",
    config: {
      codec_type: "auto",
      stat_prefix: "ingress_http",
      route_config: routeConfig({ use_websocket: true }),
      http_filters: [{ name: "envoy.router", config: {} }],
    },
  };
  return bootstrap(opts, filter, cluster, false);
}

const HCM =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
const HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
/** Far above any scenario's connections (ws-idle holds 5,000 by default). */
const UNLIMITED = 1_000_000;

/** The same hop in Envoy 1.40's v3 dialect. */
export function envoyYaml(opts: HopOptions): string {
  const cluster: Obj = {
    name: CLUSTER,
    connect_timeout: CONNECT_TIMEOUT,
    type: "STATIC",
    lb_policy: "ROUND_ROBIN",
    load_assignment: {
      cluster_name: CLUSTER,
      endpoints: [{ lb_endpoints: opts.upstreams.map((port) => ({ endpoint: { address: address(port) } })) }],
    },
    circuit_breakers: {
      thresholds: [{ max_connections: UNLIMITED, max_pending_requests: UNLIMITED, max_requests: UNLIMITED }],
    },
  };
  if (opts.h2)
    cluster.typed_extension_protocol_options = {
      [HTTP_OPTIONS]: {
        "@type": `type.googleapis.com/${HTTP_OPTIONS}`,
        explicit_http_config: { http2_protocol_options: {} },
      },
    };
  const hcm: Obj = {
    "@type": HCM,
    codec_type: "AUTO",
    stat_prefix: "ingress_http",
    route_config: routeConfig({ upgrade_configs: [{ upgrade_type: "websocket" }] }),
    http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": ROUTER } }],
  };
  if (opts.sidecar === true) hcm.http2_protocol_options = { allow_connect: true };
  const filter = { name: "envoy.filters.network.http_connection_manager", typed_config: hcm };
  return bootstrap(opts, filter, cluster, true);
}
