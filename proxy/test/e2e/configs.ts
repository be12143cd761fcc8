/**
 * The two proxies of the end-to-end tests, as Envoy v3 YAML: a front proxy (HTTP/1.1 and h2c in,
 * h2c out to the sidecar) and a sidecar (h2c in with extended CONNECT, HTTP/1.1 out to the echo
 * service), plus routes to test upstreams the tests control.
 */

const HCM =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
const PROTOCOL_OPTIONS = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

export interface Route {
  prefix: string;
  cluster: string;
  /** Route timeout (default 60s: a loaded 2-core machine moves 100 MB slowly). */
  timeout?: string;
}

export interface ClusterSpec {
  name: string;
  port: number;
  http2?: boolean;
}

export function proxyYaml(opts: {
  port: number;
  adminPort: number;
  statPrefix: string;
  routes: Route[];
  clusters: ClusterSpec[];
}): string {
  const routes = opts.routes
    .map(
      (r) => `
              - match: { prefix: "${r.prefix}" }
                route: { cluster: ${r.cluster}, timeout: ${r.timeout ?? "60s"} }`,
    )
    .join("");
  const clusters = opts.clusters
    .map(
      (c) => `
  - name: ${c.name}
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: ${c.name}
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${c.port} } } }
    # Idle pooled connections close 2 s after the traffic (Envoy's default keeps them 1 h), so the
    # leak checks see every descriptor back.
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": ${PROTOCOL_OPTIONS}
        common_http_protocol_options: { idle_timeout: 2s }
        explicit_http_config: { ${c.http2 ? "http2_protocol_options" : "http_protocol_options"}: {} }`,
    )
    .join("");
  return `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: ${opts.adminPort} } }
static_resources:
  listeners:
  - name: ingress
    address: { socket_address: { address: 127.0.0.1, port_value: ${opts.port} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": ${HCM}
          stat_prefix: ${opts.statPrefix}
          codec_type: AUTO
          http2_protocol_options: { allow_connect: true }
          upgrade_configs: [{ upgrade_type: websocket }]
          route_config:
            name: local
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:${routes}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": ${ROUTER} }
  clusters:${clusters}
`;
}
