/**
 * The topology model: what runs (echo services and proxies) and what each proxy does (listener,
 * routes, clusters), typed once and rendered per proxy dialect (./envoy.ts for Envoy v2 and v3,
 * ./haproxy.ts, ./nginx.ts, ./caddy.ts). The conformance suite, the benchmarks and `npm start` all
 * build their configs from it; the seed's own files are product data in `seeds/` and the model's
 * `mesh` renders to them (lib/test/topology/seed.test.ts).
 *
 * A renderer that cannot express a part of a spec throws `UnsupportedError` naming it: the suite's
 * targets declare their features, so a topology a dialect cannot express is only ever rendered for a
 * test the target does not claim (and such a test is skipped before anything renders).
 */
import { EchomeshError } from "../errors.js";

/** A proxy config as a parsed Envoy YAML document (v2 seed dialect unless said otherwise). */
export type EnvoyDoc = Record<string, unknown>;

/** The config languages the renderers write. */
export type Dialect = "envoy-v2" | "envoy-v3" | "haproxy" | "nginx" | "caddy";

/** Where something listens or is reached: a DNS name or an IP literal, and a port. */
export interface Address {
  host: string;
  port: number;
}

/** One upstream host of a cluster. */
export interface HostSpec extends Address {
  /** Relative share of the cluster's traffic (Envoy `load_balancing_weight`, HAProxy/nginx `weight`). */
  weight?: number;
}

/** A certificate chain and its private key, as PEM file paths. */
export interface CertFiles {
  cert: string;
  key: string;
}

/**
 * A listener that terminates TLS (Envoy `DownstreamTlsContext`): its certificate, the ALPN protocols
 * it offers (codec `auto` then speaks HTTP/2 to a client that chose `h2`), and optionally client
 * certificates verified against a CA (mutual TLS).
 */
export interface DownstreamTls {
  cert: CertFiles;
  /** ALPN protocols offered, in preference order (Envoy `alpn_protocols`). */
  alpn: ("h2" | "http/1.1")[];
  /** Client certificates are verified against this CA file (Envoy `validation_context.trusted_ca`). */
  clientCa?: string;
  /** A client without a (valid) certificate is refused in the handshake (`require_client_certificate`). */
  requireClientCert?: boolean;
  /** A client certificate must carry one of these DNS SANs (exact match). */
  clientSans?: string[];
}

/**
 * A cluster that speaks TLS to its hosts (Envoy `UpstreamTlsContext`): the server name sent (SNI),
 * the CA the hosts' certificates must chain to and the SANs one of which they must carry, and a
 * client certificate for mutual TLS. ALPN follows the cluster's protocol (`h2` for an HTTP/2 cluster).
 */
export interface UpstreamTls {
  sni: string;
  ca: string;
  /** The host's certificate must carry one of these DNS SANs (exact match). */
  sans: string[];
  /** Presented to the hosts (mutual TLS). */
  clientCert?: CertFiles;
}

export interface ClusterSpec {
  name: string;
  /** `static`: hosts are IP literals. `strict_dns`: every address a host name resolves to is a host. */
  discovery: "static" | "strict_dns";
  /** How often names are resolved again (strict_dns; Envoy's default is 5 s). */
  dnsRefreshMs?: number;
  lb: "round_robin";
  /**
   * What the proxy speaks to the hosts: HTTP/1.1, or HTTP/2 (h2c with prior knowledge; over `tls`,
   * HTTP/2 negotiated as ALPN `h2`).
   */
  protocol: "http1" | "h2c";
  /** TLS to the hosts (default: plain TCP). */
  tls?: UpstreamTls;
  connectTimeoutMs: number;
  hosts: HostSpec[];
}

/** A route on the proxy's one virtual host (`*`): the first whose prefix matches wins. */
export interface RouteSpec {
  prefix: string;
  /** One cluster, or a weighted split (weights are relative). */
  to: string | { cluster: string; weight: number }[];
  /** WebSocket upgrades pass on this route (Envoy v2 `use_websocket`, v3 `upgrade_configs`). */
  websocket?: boolean;
  /** Whole-request timeout (Envoy's route `timeout`; its default is 15 s). */
  timeoutMs?: number;
  /** Replace the Host header sent upstream (Envoy `host_rewrite` / `host_rewrite_literal`). */
  hostRewrite?: string;
}

export interface ListenerSpec {
  address: Address;
  /** Downstream protocols: `auto` is HTTP/1.1 and h2c prior knowledge on one port, as Envoy's codec `auto`. */
  codec: "auto" | "http1" | "http2";
  /** Envoy's `stat_prefix` of the connection manager (stats names: `http.<prefix>.*`). */
  statPrefix: string;
  /** The route table's name (Envoy `route_config.name`) and the virtual host's. */
  routeConfigName: string;
  virtualHostName: string;
  /** The listener terminates TLS (default: plain TCP). */
  tls?: DownstreamTls;
}

/** One proxy's configuration, in no dialect. */
export interface ProxySpec {
  listener: ListenerSpec;
  /**
   * More listeners with the same routes (an HTTPS port beside the plain one, as a front proxy has):
   * each its own address, codec, stat prefix and TLS.
   */
  extraListeners?: ListenerSpec[];
  /** Envoy's admin listener (stats, /clusters, /ready); dialects without one ignore it. */
  admin: (Address & { accessLogPath: string }) | null;
  routes: RouteSpec[];
  clusters: ClusterSpec[];
}

/** What a topology adds to a proxy's Envoy config beyond its spec. */
export interface EnvoyExtras {
  /** In words, for reports and errors (e.g. "outlier_detection on myservice"). */
  what: string;
  /** Edits of the rendered v2 document, applied before a v3 translation. */
  edit?: (doc: EnvoyDoc) => void;
  /**
   * File-based LDS/CDS: DiscoveryResponse files placed in the proxy's XDS_DIR before it starts, by
   * file name; the config's `dynamic_resources` names them there.
   */
  files?: Record<string, DiscoveryDoc>;
}

/** A DiscoveryResponse file in the seed's v2 dialect (Envoy v3 targets get it translated). */
export interface DiscoveryDoc {
  kind: "listener" | "cluster";
  versionInfo: string;
  /** v2 listeners or clusters, without `@type`. */
  resources: EnvoyDoc[];
}

/** One echo service instance. */
export interface EchoNode {
  /** Unique node name; also the echo's `INSTANCE`, so `x-echo-instance` names it. */
  name: string;
  /** DNS names it answers to on the topology's network (several nodes may share one: strict_dns). */
  aliases: string[];
  /** Extra echo env (e.g. a larger body limit). */
  env?: Record<string, string>;
  /** Not started with the topology; a test starts it (a backend joining a DNS name). */
  deferred?: boolean;
}

/** One proxy instance. */
export interface ProxyNode {
  name: string;
  /** `--service-cluster` as in the seed's command line (Envoy dialects). */
  serviceCluster: string;
  spec: ProxySpec;
  /**
   * Envoy-only parts (health checks, outlier detection, circuit breakers, retry policies, LDS/CDS
   * files...). Other dialects render the spec without them: the features that need them are claimed
   * by Envoy-dialect targets only, so their tests are skipped elsewhere.
   */
  envoy?: EnvoyExtras;
  /** DNS names it answers to (the mesh's sidecars are reached as `service1`/`service2`). */
  aliases: string[];
  /**
   * Run inside this echo node's network namespace (a sidecar next to its service, as the seed's
   * `Dockerfile-service` ran echo and Envoy in one container): the spec reaches the echo at 127.0.0.1.
   */
  sidecarOf?: string;
}

export interface Topology {
  id: string;
  description: string;
  echos: EchoNode[];
  proxies: ProxyNode[];
  /** The proxy that clients talk to. */
  entry: string;
  /**
   * Made before each start (the TLS topologies' test certificates, which the specs name by path): the
   * conformance runner awaits it before a driver starts the topology.
   */
  prepare?: () => Promise<void>;
  /**
   * A folder on the test machine holding files the configs name by path (the test certificates); the
   * container driver bind-mounts it read-only at the same path into each proxy.
   */
  hostFiles?: string;
}

/** A part of a spec that a dialect cannot express. */
export class UnsupportedError extends EchomeshError {
  readonly code = "ECHOMESH_TOPOLOGY_UNSUPPORTED";
  constructor(
    readonly dialect: Dialect,
    readonly what: string,
  ) {
    super(`${dialect} cannot express ${what}`);
  }
}
