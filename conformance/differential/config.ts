/**
 * The differential cases' Envoy v3 configs: one listener with one http_connection_manager (router
 * only), an admin listener, and the same clusters in every config, each pointing at one of the shared
 * upstreams (upstreams.ts). Ports are tokens (`"@raw"`...), replaced per side by `render`, so Envoy and
 * our proxy read the same document with only their own listener and admin ports changed.
 */
import type { Doc } from "./types.js";

export const HCM_TYPE =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
export const ROUTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
const HTTP_OPTIONS_TYPE = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

/** The path of active health checks: the recording upstream answers it with the case's health statuses. */
export const HEALTH_PATH = "/healthz";

/** The HCM's stat prefix (stats `http.ingress.*`). */
export const STAT_PREFIX = "ingress";

/** A port token: the listener and admin ports differ per side; upstream ports are shared. */
export type PortToken = "@listener" | "@admin" | "@raw" | "@echo" | "@refused" | "@blackhole";

/** What each upstream token stands for (see upstreams.ts). */
export const UPSTREAMS = {
  /** The recording upstream: records the bytes it receives, answers the case's canned answers. */
  "@raw": "recording upstream (HTTP/1.1 raw bytes, h2c structured)",
  /** The echo service (in-process), behind a forwarder that records what reaches it. */
  "@echo": "echo service",
  /** A port nothing listens on: connect refused. */
  "@refused": "closed port",
  /** A listener whose accept queue is full: connects hang until connect_timeout. */
  "@blackhole": "full accept queue",
} as const;

/** Every config's clusters: name -> (port token, HTTP/2 upstream). */
export const CLUSTERS: Record<string, { port: PortToken | null; h2: boolean }> = {
  raw: { port: "@raw", h2: false },
  raw_b: { port: "@raw", h2: false },
  raw_h2: { port: "@raw", h2: true },
  echo: { port: "@echo", h2: false },
  echo_h2: { port: "@echo", h2: true },
  refused: { port: "@refused", h2: false },
  blackhole: { port: "@blackhole", h2: false },
  /** No endpoints: "no healthy upstream". */
  empty: { port: null, h2: false },
};

export interface ConfigParts {
  /** Fields set on the http_connection_manager (use_remote_address, upgrade_configs, timeouts...). */
  hcm?: Doc;
  /** The routes of the one virtual host (`domains: ["*"]`); default: everything to `raw`. */
  routes?: Doc[];
  /** Fields set on that virtual host (retry_policy...). */
  vhost?: Doc;
  /** The whole virtual host list, instead of the one above. */
  virtualHosts?: Doc[];
  /** Fields set on the `raw` cluster (the others keep their defaults). */
  rawCluster?: Doc;
}

function cluster(name: string, extra: Doc = {}): Doc {
  const spec = CLUSTERS[name];
  if (spec === undefined) throw new Error(`no cluster ${name}`);
  const endpoints =
    spec.port === null
      ? []
      : [
          {
            lb_endpoints: [
              { endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: spec.port } } } },
            ],
          },
        ];
  const out: Doc = {
    name,
    connect_timeout: "0.25s",
    type: "STATIC",
    load_assignment: { cluster_name: name, endpoints },
    ...extra,
  };
  if (spec.h2) {
    out.typed_extension_protocol_options = {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": HTTP_OPTIONS_TYPE,
        explicit_http_config: { http2_protocol_options: {} },
      },
    };
  }
  return out;
}

/** A v3 bootstrap: admin, one listener on `@listener`, every cluster of CLUSTERS. */
export function config(parts: ConfigParts = {}): Doc {
  const routes = parts.routes ?? [{ match: { prefix: "/" }, route: { cluster: "raw" } }];
  const virtualHosts = parts.virtualHosts ?? [{ name: "all", domains: ["*"], routes, ...parts.vhost }];
  return {
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: "@admin" } } },
    static_resources: {
      listeners: [
        {
          name: "main",
          address: { socket_address: { address: "127.0.0.1", port_value: "@listener" } },
          filter_chains: [
            {
              filters: [
                {
                  name: "envoy.filters.network.http_connection_manager",
                  typed_config: {
                    "@type": HCM_TYPE,
                    stat_prefix: STAT_PREFIX,
                    route_config: { name: "local", virtual_hosts: virtualHosts },
                    http_filters: [
                      { name: "envoy.filters.http.router", typed_config: { "@type": ROUTER_TYPE } },
                    ],
                    ...parts.hcm,
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: Object.keys(CLUSTERS).map((name) =>
        cluster(name, name === "raw" ? parts.rawCluster : undefined),
      ),
    },
  };
}

/** `doc` with every port token replaced by its number (a token without a number is an error). */
export function render(doc: Doc, ports: Record<PortToken, number>): Doc {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string" && v.startsWith("@") && v in ports) return ports[v as PortToken];
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object") {
      const out: Doc = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return walk(doc) as Doc;
}

/** The key of a config group: cases whose configs are equal share one Envoy and one proxy. */
export function configKey(doc: Doc): string {
  return JSON.stringify(doc);
}
