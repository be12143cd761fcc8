/**
 * The configs of the `reload` scenario: one listener on `port`, every request to the cluster
 * `backends` (round robin over one echo set), in three shapes:
 *   - a v3 bootstrap with the cluster static (our proxy reloads it on SIGHUP);
 *   - a v3 bootstrap whose cluster comes from a CDS file (`dynamic_resources.cds_config` with
 *     `path_config_source` and a watched directory: our proxy and Envoy reread it when a new file is
 *     moved into place), plus that file;
 *   - HAProxy's (`topologies/haproxy.ts`), reloaded with `-sf`.
 */
import { stringify } from "yaml";

type Obj = Record<string, unknown>;

const CLUSTER = "backends";
const HCM =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
const CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

const address = (port: number): Obj => ({ socket_address: { address: "127.0.0.1", port_value: port } });

/** The cluster over `echoes` (Envoy's default circuit breakers are far above the bench's connections). */
export function cluster(echoes: readonly number[]): Obj {
  return {
    name: CLUSTER,
    connect_timeout: "0.25s",
    type: "STATIC",
    lb_policy: "ROUND_ROBIN",
    load_assignment: {
      cluster_name: CLUSTER,
      endpoints: [{ lb_endpoints: echoes.map((port) => ({ endpoint: { address: address(port) } })) }],
    },
  };
}

function listener(port: number): Obj {
  return {
    name: "listener_0",
    address: address(port),
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": HCM,
              stat_prefix: "ingress_http",
              route_config: {
                name: "local_route",
                // the cluster may come from CDS after the listener: not checked at load
                validate_clusters: false,
                virtual_hosts: [
                  {
                    name: "all",
                    domains: ["*"],
                    routes: [{ match: { prefix: "/" }, route: { cluster: CLUSTER } }],
                  },
                ],
              },
              http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": ROUTER } }],
            },
          },
        ],
      },
    ],
  };
}

function admin(adminPort: number): Obj {
  return { address: address(adminPort) };
}

/** A v3 bootstrap with the cluster over `echoes` static. */
export function staticBootstrap(port: number, adminPort: number, echoes: readonly number[]): string {
  return stringify({
    admin: admin(adminPort),
    static_resources: { listeners: [listener(port)], clusters: [cluster(echoes)] },
  });
}

/** A v3 bootstrap whose cluster comes from the CDS file `cdsPath` (its directory watched). */
export function cdsBootstrap(port: number, adminPort: number, cdsPath: string, dir: string): string {
  return stringify({
    node: { id: "bench", cluster: "bench" },
    admin: admin(adminPort),
    static_resources: { listeners: [listener(port)] },
    dynamic_resources: {
      cds_config: {
        resource_api_version: "V3",
        path_config_source: { path: cdsPath, watched_directory: { path: dir } },
      },
    },
  });
}

/** The CDS file (a DiscoveryResponse) holding the cluster over `echoes`, version `version`. */
export function cdsFile(version: number, echoes: readonly number[]): string {
  return stringify({
    version_info: String(version),
    resources: [{ "@type": CLUSTER_TYPE, ...cluster(echoes) }],
  });
}
