/**
 * The proxy's typed configuration model.
 *
 * Envoy's v2 (`config:`, `hosts`, `use_websocket`...) and v3 (`typed_config`, `load_assignment`,
 * `upgrade_configs`...) YAML/JSON shapes are both parsed and validated ONCE into these objects
 * (see ./load.ts). Everything downstream of the loader trusts them: no optional-chaining over raw
 * YAML anywhere else in the proxy. Durations are milliseconds; 0 means "disabled" where Envoy says so.
 */

import type { Regex } from "./regex.js";

export type ConfigVersion = "v2" | "v3";

export interface Bootstrap {
  /**
   * The file's dialect (see proxy/config/context.ts): a file naming a v3 type URL is v3, else one
   * with v2-only spellings is v2. Both normalise to this model; v2 files mean what they meant to
   * Envoy 1.7 (2018), v3 files what they mean to Envoy 1.40, where the two differ (docs/ENVOY-DIFFERENCES.md,
   * "Dialects").
   */
  version: ConfigVersion;
  admin: AdminConfig | null;
  listeners: ListenerConfig[];
  clusters: ClusterConfig[];
  /** `node` (id and cluster; `--service-cluster`/`--service-node` override them). Absent = not set. */
  node?: NodeConfig;
  /**
   * Fields that were accepted but have no effect (e.g. `per_connection_buffer_limit_bytes`), one line
   * each, formatted like errors (`path: message`). Absent or empty = none. The CLI may log them.
   */
  warnings?: string[];
  /** `dynamic_resources` (file-based LDS/CDS, ./dynamic_resources.ts). Absent = none. */
  dynamicResources?: DynamicResourcesConfig;
  /**
   * What the LDS/CDS files added (their listeners and clusters are in `listeners`/`clusters`):
   * each file's `version_info` and the names that came from them. Absent = no file was read.
   */
  dynamic?: DynamicState;
}

/** A file config source: `path_config_source: {path, watched_directory: {path}}` (v2: `path`). */
export interface PathConfigSource {
  path: string;
  /** Reload when something is moved into this directory (Envoy's `watched_directory`); null = watch `path`. */
  watchedDirectory: string | null;
}

export interface DynamicResourcesConfig {
  lds: PathConfigSource | null;
  cds: PathConfigSource | null;
}

export interface DynamicState {
  ldsVersion: string | null;
  cdsVersion: string | null;
  /** Listener names from the LDS file. */
  apiListeners: string[];
  /** Cluster names from the CDS file (`added_via_api::true` in /clusters). */
  apiClusters: string[];
}

export interface NodeConfig {
  id: string | null;
  cluster: string | null;
}

export interface SocketAddress {
  /** An IP literal or (for strict_dns/logical_dns clusters) a DNS name. */
  address: string;
  port: number;
}

export interface AdminConfig {
  address: SocketAddress;
  /** `access_log_path` (v2) or the first file access log (v3); null = none. "/dev/null" is kept as given. */
  accessLogPath: string | null;
}

export interface ListenerConfig {
  /** `name`, or `listener_<index>` when absent (Envoy generates a UUID; a stable name reads better). */
  name: string;
  address: SocketAddress;
  /** The listener's single http_connection_manager (the only network filter we support). */
  hcm: HttpConnectionManagerConfig;
  /**
   * Connections open on this listener at most: the runtime key
   * `envoy.resource_limits.listener.<name>.connection_limit` (`layered_runtime`). A connection past
   * it is closed as soon as it is accepted (`downstream_cx_overflow`). null: no limit (Envoy's default).
   */
  connectionLimit: number | null;
  /**
   * Connections open on all the listeners that count toward it at most: the overload manager's
   * `envoy.resource_monitors.global_downstream_max_connections` (`max_active_downstream_connections`),
   * unless this listener sets `ignore_global_conn_limit`. Past it a connection is closed as soon as
   * it is accepted (`downstream_global_cx_overflow`). null: not counted (no such monitor, or opted out).
   */
  globalConnectionLimit: number | null;
  /**
   * The filter chain's TLS transport socket (`transport_socket` envoy.transport_sockets.tls, v2
   * `tls_context`): connections are TLS, terminated by the listener. Absent: plain TCP.
   */
  tls?: DownstreamTlsContext;
}

export type TlsVersion = "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";

/** One `tls_certificates` entry, its DataSources read at load (PEM text). */
export interface TlsCertificate {
  certificateChain: string;
  privateKey: string;
  /** `password` of an encrypted key; null = none. */
  password: string | null;
}

/** A SAN type of `match_typed_subject_alt_names`. */
export type SanType = "dns" | "uri" | "ip" | "email";

export interface SanMatcher {
  /** null: any DNS, URI, email or IP SAN (`match_subject_alt_names`, v2 `verify_subject_alt_name`). */
  type: SanType | null;
  match: StringMatch;
}

/** `validation_context`: the peer's certificate must chain to `trustedCa` and match a SAN matcher (if any). */
export interface CertificateValidation {
  /** PEM; null: no CA given (then nothing is verified, as in Envoy). */
  trustedCa: string | null;
  /** Empty: any SAN. */
  sanMatchers: SanMatcher[];
}

/** Envoy's `CommonTlsContext`. */
export interface CommonTlsContext {
  certificates: TlsCertificate[];
  /** ALPN offered (client) or accepted (server), in preference order; empty = no ALPN. */
  alpnProtocols: string[];
  validation: CertificateValidation | null;
  /** `tls_params` (Envoy 1.40's defaults: servers TLS 1.2-1.3, clients TLS 1.2). */
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
}

/** Envoy's `DownstreamTlsContext`. */
export interface DownstreamTlsContext extends CommonTlsContext {
  /**
   * A client without a certificate is refused. Its certificate is verified against the trusted CA
   * if there is one; without one, any certificate is accepted (as Envoy does).
   */
  requireClientCertificate: boolean;
}

/** Envoy's `UpstreamTlsContext`. */
export interface UpstreamTlsContext extends CommonTlsContext {
  /** The SNI sent; null: none (Envoy sends none unless told). */
  sni: string | null;
}

export type CodecType = "auto" | "http1" | "http2";

export interface HttpConnectionManagerConfig {
  statPrefix: string;
  codecType: CodecType;
  routeConfig: RouteConfiguration;
  /** Default false: XFF is only appended to with the peer address when true. */
  useRemoteAddress: boolean;
  xffNumTrustedHops: number;
  /** Default true. */
  generateRequestId: boolean;
  /** `server_name`, default "envoy" (Envoy overwrites the upstream's `server` header). */
  serverName: string;
  /** `http_protocol_options.accept_http_10`, default false (HTTP/1.0 gets 426). */
  acceptHttp10: boolean;
  defaultHostForHttp10: string | null;
  /** `http2_protocol_options.allow_connect`: accept RFC 8441 extended CONNECT (WebSocket over h2). */
  allowConnect: boolean;
  /** `http2_protocol_options.max_concurrent_streams` for h2c clients, default 1024 (Envoy 1.40). */
  http2MaxConcurrentStreams: number;
  /** `http2_protocol_options.initial_stream_window_size`, default 16 MiB (Envoy 1.40). */
  http2InitialStreamWindowSize: number;
  /** `http2_protocol_options.initial_connection_window_size`, default 24 MiB (Envoy 1.40). */
  http2InitialConnectionWindowSize: number;
  /**
   * `http2_protocol_options.max_outbound_frames`, default 10000: a connection with more frames
   * queued for the client than this is closed (`http2.outbound_flood`).
   */
  http2MaxOutboundFrames: number;
  /**
   * `http2_protocol_options.max_outbound_control_frames`, default 1000: the same for the PING and
   * SETTINGS ACKs and RST_STREAMs the client made us owe it (`http2.outbound_control_flood`).
   */
  http2MaxOutboundControlFrames: number;
  /**
   * `http2_protocol_options.max_consecutive_inbound_frames_with_empty_payload`, default 1: more
   * empty DATA frames (no END_STREAM) in a row close the connection (`http2.inbound_empty_frames_flood`).
   */
  http2MaxConsecutiveInboundFramesWithEmptyPayload: number;
  /**
   * `http2_protocol_options.max_inbound_priority_frames_per_stream`, default 100: more than this
   * times (1 + streams opened) PRIORITY frames close the connection (`http2.inbound_priority_frames_flood`).
   */
  http2MaxInboundPriorityFramesPerStream: number;
  /**
   * `http2_protocol_options.max_inbound_window_update_frames_per_data_frame_sent`, default 10: more
   * than 5 + 2 * (streams opened + this times DATA frames sent) WINDOW_UPDATE frames close the
   * connection (`http2.inbound_window_update_frames_flood`).
   */
  http2MaxInboundWindowUpdateFramesPerDataFrameSent: number;
  /** HCM-level `upgrade_configs`, lower-cased upgrade type -> enabled. */
  upgrades: ReadonlyMap<string, boolean>;
  /** `stream_idle_timeout`, default 300000 (5 min); 0 disables. */
  streamIdleTimeoutMs: number;
  /** `request_timeout`, default 0 (disabled). */
  requestTimeoutMs: number;
  /**
   * `request_headers_timeout`, default 0 (disabled): a request head not complete this long after its
   * first byte gets 408 (`downstream_rq_header_timeout`).
   */
  requestHeadersTimeoutMs: number;
  /**
   * `delayed_close_timeout` (default 1 s): after a reply that closes the connection, how long to wait
   * for the client to close first; 0 closes once the reply is flushed.
   */
  delayedCloseTimeoutMs: number;
  /** `common_http_protocol_options.idle_timeout` (downstream connection idle), default 3600000. */
  idleTimeoutMs: number;
  /** `drain_timeout`, default 5000. */
  drainTimeoutMs: number;
  /**
   * `max_request_headers_kb`, default 60: a larger request head gets 431 on HTTP/1.1; on HTTP/2 the
   * stream is reset (`http2.header_list_size_too_large`).
   */
  maxRequestHeadersKb: number;
  /**
   * `common_http_protocol_options.max_headers_count`, default 100: more request headers get 431 on
   * HTTP/1.1; on HTTP/2 (pseudo-headers counted) the stream is reset (`http2.header_overflow`).
   */
  maxHeadersCount: number;
  /**
   * `common_http_protocol_options.max_requests_per_connection`, default 0 (unlimited): the response to
   * the Nth request of an HTTP/1.1 connection closes it (`downstream_cx_max_requests_reached`).
   */
  maxRequestsPerConnection: number;
  /**
   * `internal_address_config.cidr_ranges`: the clients that are internal. Absent: the dialect's
   * default (Envoy 1.40 trusts none; Envoy 1.7 trusted RFC 1918, 127.0.0.1, fd00::/8 and ::1).
   */
  internalAddresses?: readonly CidrRange[];
  accessLogs: AccessLogConfig[];
}

/** An address range: `prefix`/`length` (IPv4 or IPv6). */
export interface CidrRange {
  prefix: string;
  length: number;
}

export interface AccessLogConfig {
  /** A file path; "/dev/stdout" and "/dev/stderr" write to the process streams. */
  path: string;
  /** Envoy format string; null = Envoy's default format. */
  format: string | null;
}

export interface RouteConfiguration {
  name: string;
  virtualHosts: VirtualHostConfig[];
  /** `ignore_port_in_host_matching` (v3): match domains against the host without its port. Absent = false. */
  ignorePortInHostMatching?: boolean;
}

export interface VirtualHostConfig {
  name: string;
  /** Lower-cased as written: exact, `*.suffix`, `prefix.*` or `*`. */
  domains: string[];
  routes: RouteConfig[];
  /** Virtual-host level retry policy; a route's own policy replaces it entirely. */
  retryPolicy: RetryPolicy | null;
  /** `include_request_attempt_count`: `x-envoy-attempt-count` on every upstream try. */
  includeRequestAttemptCount: boolean;
  /** `include_attempt_count_in_response`: `x-envoy-attempt-count` on the response. */
  includeAttemptCountInResponse: boolean;
}

export interface RouteConfig {
  /** `name`, or `<vhost>/<index>` when absent. */
  name: string;
  match: RouteMatch;
  action: RouteAction;
}

export type PathMatch =
  | { kind: "prefix"; value: string }
  | { kind: "path"; value: string }
  /** `safe_regex` (v3) or `regex` (v2): must match the whole path without the query. */
  | { kind: "regex"; regex: Regex; source: string };

export type StringMatch =
  /** With `ignoreCase` the loader stores `value` lower-cased; compare it with the lower-cased input. */
  | { kind: "exact" | "prefix" | "suffix" | "contains"; value: string; ignoreCase: boolean }
  | { kind: "regex"; regex: Regex; source: string };

export type HeaderMatch =
  | StringMatch
  | { kind: "present"; present: boolean }
  /** `range_match`: start inclusive, end exclusive. */
  | { kind: "range"; start: number; end: number };

export interface HeaderMatcher {
  /** Lower-cased header name (pseudo headers like `:method` allowed). */
  name: string;
  match: HeaderMatch;
  invert: boolean;
}

export interface QueryParameterMatcher {
  name: string;
  match: StringMatch | { kind: "present"; present: boolean };
}

export interface RouteMatch {
  path: PathMatch;
  /** Default true; not applied to regex matches. */
  caseSensitive: boolean;
  headers: HeaderMatcher[];
  queryParameters: QueryParameterMatcher[];
}

export type RouteAction = ForwardAction | RedirectAction | DirectResponseAction;

export interface WeightedClusterEntry {
  name: string;
  weight: number;
}

export interface ForwardAction {
  kind: "forward";
  /** One entry of weight 1 for `cluster:`; the entries of `weighted_clusters` otherwise. */
  clusters: WeightedClusterEntry[];
  /** The sum of the weights (a v2 `total_weight` must equal it; v3 ignores `total_weight`, as Envoy 1.40). */
  totalWeight: number;
  prefixRewrite: string | null;
  regexRewrite: { regex: Regex; substitution: string } | null;
  /** `host_rewrite_literal` (v3) / `host_rewrite` (v2). */
  hostRewriteLiteral: string | null;
  autoHostRewrite: boolean;
  /** `timeout`, default 15000; 0 disables. Measured from the end of the downstream request. */
  timeoutMs: number;
  /** Route `idle_timeout`; null = use the HCM's stream idle timeout. */
  idleTimeoutMs: number | null;
  /** The route's own policy, or null (then the virtual host's applies). */
  retryPolicy: RetryPolicy | null;
  /**
   * Route-level upgrades, lower-cased keys. A v2 `use_websocket: true` becomes websocket -> true: in
   * v2 (Envoy <= 1.8) it made the route a raw TCP tunnel to the host once the upgrade is asked for,
   * whatever the cluster's protocol.
   */
  upgrades: ReadonlyMap<string, boolean>;
  /** `cluster_not_found_response_code`, default 503. */
  clusterNotFoundResponseCode: number;
}

export interface RedirectAction {
  kind: "redirect";
  httpsRedirect: boolean;
  schemeRedirect: string | null;
  hostRedirect: string | null;
  portRedirect: number | null;
  pathRedirect: string | null;
  prefixRewrite: string | null;
  /** Default 301. */
  responseCode: number;
  stripQuery: boolean;
}

export interface DirectResponseAction {
  kind: "direct_response";
  status: number;
  /** `body.inline_string` (or inline_bytes decoded); null = empty. */
  body: string | null;
}

export interface RetryPolicy {
  /** Lower-cased conditions: 5xx, gateway-error, connect-failure, reset, retriable-status-codes, ... */
  retryOn: ReadonlySet<string>;
  /** Default 1. */
  numRetries: number;
  /** 0 = none (the route timeout bounds all tries). */
  perTryTimeoutMs: number;
  retriableStatusCodes: ReadonlySet<number>;
  /** `retriable_headers`: a response matching any of them is retried under `retriable-headers`. */
  retriableHeaders: readonly HeaderMatcher[];
  /** `retriable_request_headers`: when not empty, only a request matching one of them is retried. */
  retriableRequestHeaders: readonly HeaderMatcher[];
  /** `retry_host_predicate` `envoy.retry_host_predicates.previous_hosts`: a retry avoids tried hosts. */
  previousHosts: boolean;
  /** `host_selection_retry_max_attempts`, default 1: extra host picks a retry may make to avoid one. */
  hostSelectionRetryMaxAttempts: number;
  /** Back-off: fully jittered exponential, base 25 ms, max 10x base. */
  baseIntervalMs: number;
  maxIntervalMs: number;
}

export type DiscoveryType = "static" | "strict_dns" | "logical_dns";
export type LbPolicy = "round_robin" | "least_request" | "random";
export type DnsLookupFamily = "auto" | "v4_only" | "v6_only" | "v4_preferred" | "all";
export type UpstreamProtocol = "http1" | "http2";

export interface EndpointConfig {
  address: SocketAddress;
  /** `load_balancing_weight`, default 1. */
  weight: number;
  /** `endpoint.hostname`, used by auto_host_rewrite; defaults to the DNS name for DNS clusters. */
  hostname: string | null;
}

export interface ClusterConfig {
  name: string;
  type: DiscoveryType;
  lbPolicy: LbPolicy;
  /** Required in v2; default 5000 in v3. */
  connectTimeoutMs: number;
  /** http2 when `http2_protocol_options` (v2) or explicit_http_config.http2_protocol_options (v3). */
  protocol: UpstreamProtocol;
  /** HTTP/2 `max_concurrent_streams` we open per session, at most (default 1024, Envoy 1.40; the peer's limit if lower). */
  http2MaxConcurrentStreams: number;
  /** HTTP/2 `initial_stream_window_size` we announce, default 16 MiB (Envoy 1.40). */
  http2InitialStreamWindowSize: number;
  /** HTTP/2 `initial_connection_window_size` we announce, default 24 MiB (Envoy 1.40). */
  http2InitialConnectionWindowSize: number;
  endpoints: EndpointConfig[];
  /** `dns_refresh_rate`, default 5000. */
  dnsRefreshRateMs: number;
  dnsLookupFamily: DnsLookupFamily;
  respectDnsTtl: boolean;
  /**
   * The cluster's own DNS servers (`typed_dns_resolver_config` c-ares `resolvers`,
   * `dns_resolution_config.resolvers` or `dns_resolvers`); empty = the system resolver.
   */
  dnsResolvers: SocketAddress[];
  /** `least_request_lb_config.choice_count`, default 2. */
  leastRequestChoiceCount: number;
  /**
   * Upstream connection idle timeout (`common_http_protocol_options.idle_timeout`), default 1 h as
   * in Envoy; 0 disables. An upstream that closes an idle connection first (Node's 5 s keep-alive)
   * just takes it out of the pool.
   */
  upstreamIdleTimeoutMs: number;
  /** `max_requests_per_connection`, 0 = unlimited. */
  maxRequestsPerConnection: number;
  /** `circuit_breakers.thresholds` per priority; absent: no `circuit_breakers` (Envoy's defaults). */
  circuitBreakers?: CircuitBreakers;
  /** `outlier_detection`; absent: the cluster has none (no detector, no `outlier_detection.*` stats). */
  outlierDetection?: OutlierDetectionConfig;
  /** `health_checks` applied (HTTP and TCP checkers); absent: none (no `health_check.*` stats). */
  healthCheck?: HealthCheckConfig;
  /** `common_lb_config.healthy_panic_threshold` (percent); absent = 50; 0 disables panic mode. */
  healthyPanicThreshold?: number;
  /** The TLS transport socket (`transport_socket`, v2 `tls_context`); absent: plain TCP. */
  tls?: UpstreamTlsContext;
}

/**
 * A cluster's active health check (Envoy's `HealthCheck`), durations in ms. Defaults are Envoy's
 * (health_checker_impl.cc): the edge and unhealthy intervals default to `interval`.
 */
export interface HealthCheckConfig {
  timeoutMs: number;
  intervalMs: number;
  /** `no_traffic_interval`, default 60 s: the interval while the cluster has never opened a connection. */
  noTrafficIntervalMs: number;
  /** `no_traffic_healthy_interval`, default `no_traffic_interval`: the same for a healthy host. */
  noTrafficHealthyIntervalMs: number;
  unhealthyIntervalMs: number;
  unhealthyEdgeIntervalMs: number;
  healthyEdgeIntervalMs: number;
  /** `interval_jitter` (ms) and `interval_jitter_percent`: a random addition to every interval. */
  intervalJitterMs: number;
  intervalJitterPercent: number;
  /** `initial_jitter`: a random delay before a host's first check. */
  initialJitterMs: number;
  /** Failed checks (network failures only: a wrong status fails at once) before a host is unhealthy. */
  unhealthyThreshold: number;
  /** Passing checks before an unhealthy host is healthy again (1 for a host's first check). */
  healthyThreshold: number;
  /** `reuse_connection`, default true: one connection per host kept between checks. */
  reuseConnection: boolean;
  /** `http` (`http_health_check`) or `tcp` (`tcp_health_check` without payloads: connect only). */
  kind: "http" | "tcp";
  http?: HttpHealthCheckConfig;
}

export interface HttpHealthCheckConfig {
  path: string;
  /** `codec_client_type: HTTP2` (v2 `use_http2`): checks over h2c (prior knowledge). */
  http2: boolean;
  /** `host`: the Host header; null = the cluster's name. */
  host: string | null;
  /** `expected_statuses` as [start, end) ranges; default [[200, 201)]. */
  expectedStatuses: Array<readonly [number, number]>;
  /** `retriable_statuses` as [start, end): count against `unhealthy_threshold` instead of failing at once. */
  retriableStatuses: Array<readonly [number, number]>;
  /** `request_headers_to_add` (appended, in order) as [name, value]. */
  headersToAdd: Array<readonly [string, string]>;
  /** `request_headers_to_remove`, lower-cased. */
  headersToRemove: string[];
}

/**
 * A cluster's `outlier_detection` (Envoy's `DetectorConfig`), durations in ms, the `enforcing_*`
 * fields as percentages. Defaults are Envoy's (outlier_detection_impl.h).
 */
export interface OutlierDetectionConfig {
  /** `consecutive_5xx`, default 5. */
  consecutive5xx: number;
  /** `consecutive_gateway_failure` (502, 503, 504 in a row), default 5. */
  consecutiveGatewayFailure: number;
  /** `consecutive_local_origin_failure` (only with `split_external_local_origin_errors`), default 5. */
  consecutiveLocalOriginFailure: number;
  /** `split_external_local_origin_errors`, default false: local failures count as 503/504 responses. */
  splitExternalLocalOriginErrors: boolean;
  /** `interval` between sweeps (un-ejections), default 10 s. */
  intervalMs: number;
  /** `base_ejection_time`, default 30 s; the n-th ejection in a row lasts n times this. */
  baseEjectionTimeMs: number;
  /** `max_ejection_time`, default 300 s or `base_ejection_time` if larger. */
  maxEjectionTimeMs: number;
  /** `max_ejection_time_jitter`, default 0: a random 0..this ms added to each ejection. */
  maxEjectionTimeJitterMs: number;
  /** `max_ejection_percent` of the cluster's hosts ejected at once, default 10. */
  maxEjectionPercent: number;
  /** `always_eject_one_host`, default false: eject one host even past `max_ejection_percent`. */
  alwaysEjectOneHost: boolean;
  /**
   * `successful_active_health_check_uneject_host`, default true: with active health checking, an
   * ejected host whose check passes comes back at once.
   */
  successfulActiveHealthCheckUnejectHost: boolean;
  /** `enforcing_consecutive_5xx`, default 100. */
  enforcingConsecutive5xx: number;
  /** `enforcing_consecutive_gateway_failure`, default 0. */
  enforcingConsecutiveGatewayFailure: number;
  /** `enforcing_consecutive_local_origin_failure`, default 100. */
  enforcingConsecutiveLocalOriginFailure: number;
  /** `success_rate_minimum_hosts` with enough requests for success-rate ejection, default 5. */
  successRateMinimumHosts: number;
  /** `success_rate_request_volume`: requests a host needs in an interval to count, default 100. */
  successRateRequestVolume: number;
  /** `success_rate_stdev_factor` (/1000): eject below mean - factor x stdev, default 1900. */
  successRateStdevFactor: number;
  /** `enforcing_success_rate`, default 100. */
  enforcingSuccessRate: number;
  /** `enforcing_local_origin_success_rate`, default 100. */
  enforcingLocalOriginSuccessRate: number;
  /** `failure_percentage_threshold`: eject at this failure percentage or above, default 85. */
  failurePercentageThreshold: number;
  /** `failure_percentage_minimum_hosts`, default 5. */
  failurePercentageMinimumHosts: number;
  /** `failure_percentage_request_volume`, default 50. */
  failurePercentageRequestVolume: number;
  /** `enforcing_failure_percentage`, default 0. */
  enforcingFailurePercentage: number;
  /** `enforcing_failure_percentage_local_origin`, default 0. */
  enforcingFailurePercentageLocalOrigin: number;
}

/**
 * A cluster's circuit breakers (Envoy's `ResourceManager` per priority). DEFAULT applies to every
 * request (routes can only be DEFAULT priority); HIGH is kept for the admin's `/clusters`.
 */
export interface CircuitBreakers {
  default: CircuitBreakerThresholds;
  high: CircuitBreakerThresholds;
}

/** One `thresholds` entry; Envoy's defaults 1024 / 1024 / 1024 / 3. */
export interface CircuitBreakerThresholds {
  /** Connections to all hosts of the cluster (`upstream_cx_overflow` past it: no new connection). */
  maxConnections: number;
  /** Requests waiting for a connection (past it: 503 UO, `upstream_rq_pending_overflow`). */
  maxPendingRequests: number;
  /** Requests on connections (past it: 503 UO, `upstream_rq_active_overflow`). */
  maxRequests: number;
  /** Retries in flight (past it: no retry, flag UO, `upstream_rq_retry_overflow`). */
  maxRetries: number;
  /** `track_remaining`: publish `circuit_breakers.<priority>.remaining_*` gauges. */
  trackRemaining: boolean;
}
