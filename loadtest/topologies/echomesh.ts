/**
 * Envoy YAML for our proxy in each benchmark topology, in the seed's v2 shape (`config:`, `hosts`,
 * cluster-level `http2_protocol_options`, `use_websocket` on /ws). Written to the run's scratch folder.
 *
 *   single hop:  listener :port (codec auto: HTTP/1.1 and h2c) -> round robin over the upstreams
 *   h2 upstream: same, cluster speaks h2c (prior knowledge) to the upstreams
 *   mesh:        front (h1 in, h2c out to the sidecars) + one sidecar per echo (h2c in, h1 out),
 *                each a proxyYaml (see targets/proxy_family.ts)
 */
import { stringify } from "yaml";

export interface HopOptions {
  port: number;
  upstreams: number[];
  /** Speak h2c to the upstreams. */
  h2: boolean;
}

export function proxyYaml(opts: HopOptions): string {
  const cluster: Record<string, unknown> = {
    name: "backends",
    connect_timeout: "0.25s",
    type: "static",
    lb_policy: "round_robin",
    hosts: opts.upstreams.map((port) => ({ socket_address: { address: "127.0.0.1", port_value: port } })),
  };
  if (opts.h2) cluster.http2_protocol_options = {};
  const config = {
    static_resources: {
      listeners: [
        {
          address: { socket_address: { address: "127.0.0.1", port_value: opts.port } },
          filter_chains: [
            {
              filters: [
                {
                  name: "envoy.http_connection_manager",
                  config: {
                    codec_type: "auto",
                    stat_prefix: "ingress_http",
                    route_config: {
                      name: "local_route",
                      virtual_hosts: [
                        {
                          name: "backend",
                          domains: ["*"],
                          routes: [
                            { match: { prefix: "/ws" }, route: { cluster: "backends", use_websocket: true } },
                            { match: { prefix: "/" }, route: { cluster: "backends" } },
                          ],
                        },
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
      clusters: [cluster],
    },
  };
  return stringify(config);
}
