import { counter, declareScope, gauge, resolveScope, type StatsOf } from "../stats/declare.js";
import type { Counter, StatsStore } from "../stats/store.js";
import { clusterSslStats, type SslStats } from "../tls/stats.js";

/** A cluster's stats (Envoy's `ALL_CLUSTER_STATS`), under `cluster.<name>.`. */
export const CLUSTER_STATS = declareScope({
  prefix: "cluster.<name>.",
  title: "Cluster",
  stats: {
    upstream_rq_total: counter(
      "Requests sent on an upstream connection (every try; not one whose connect failed)",
    ),
    upstream_rq_active: gauge("Requests on an upstream connection"),
    upstream_rq_completed: counter(
      "Requests answered: by the upstream, or by a local reply standing for it (503 connect failure or no healthy upstream, 504 timeout)",
    ),
    upstream_rq_timeout: counter("Requests that hit the route's `timeout` while a try was in flight"),
    upstream_rq_per_try_timeout: counter("Tries that hit the retry policy's `per_try_timeout`"),
    upstream_rq_retry: counter("Retries"),
    upstream_rq_retry_backoff_exponential: counter("Retries after the exponential back-off"),
    upstream_rq_retry_limit_exceeded: counter("Requests not retried because `num_retries` was used up"),
    upstream_rq_retry_success: counter("Retried requests whose last try was not retriable"),
    retry_or_shadow_abandoned: counter("Requests not retried because their body was over the buffer limit"),
    upstream_rq_pending_total: counter("Requests that waited for a connection"),
    upstream_rq_pending_active: gauge("Requests waiting for a connection"),
    upstream_rq_pending_failure_eject: counter("Waiting requests failed because their connection failed"),
    upstream_rq_pending_overflow: counter(
      "Requests answered 503 (flag UO) because `max_pending_requests` requests already waited",
    ),
    upstream_rq_active_overflow: counter(
      "Requests answered 503 (flag UO) because `max_requests` requests were already on connections",
    ),
    upstream_rq_retry_overflow: counter("Retries not done because `max_retries` retries were in flight"),
    upstream_rq_rx_reset: counter("Requests reset by the upstream"),
    upstream_rq_tx_reset: counter("Requests reset by the proxy"),
    upstream_cx_total: counter("Connections opened"),
    upstream_cx_active: gauge("Connections open"),
    upstream_cx_http1_total: counter("HTTP/1.1 connections"),
    upstream_cx_http2_total: counter("HTTP/2 connections"),
    upstream_cx_overflow: counter("Connections not opened because `max_connections` were open"),
    upstream_cx_connect_fail: counter("Connections that failed to connect"),
    upstream_cx_connect_timeout: counter("Connections that hit the cluster's `connect_timeout`"),
    upstream_cx_destroy: counter("Connections closed"),
    upstream_cx_destroy_local: counter("Connections closed by the proxy (a connect timeout included)"),
    upstream_cx_destroy_remote: counter(
      "Connections closed or reset by the upstream (a refused connect included)",
    ),
    upstream_cx_destroy_with_active_rq: counter("Connections closed with a request on them"),
    upstream_cx_destroy_local_with_active_rq: counter("Connections the proxy closed with a request on them"),
    upstream_cx_destroy_remote_with_active_rq: counter(
      "Connections the upstream closed with a request on them",
    ),
    upstream_cx_close_notify: counter(
      "Connections the upstream announced it would close (`connection: close`, HTTP/1.0 without keep-alive, GOAWAY)",
    ),
    upstream_cx_protocol_error: counter(
      "Connections closed on a protocol error (a malformed response, or one cut before its end)",
    ),
    upstream_cx_none_healthy: counter("Requests answered 503 because the cluster had no healthy host"),
    lb_healthy_panic: counter(
      "Hosts picked in panic mode: healthy hosts below `healthy_panic_threshold`, all hosts balanced",
    ),
    "circuit_breakers.default.cx_open": gauge("1 while `max_connections` connections are open", {
      perProcess: true,
    }),
    "circuit_breakers.default.cx_pool_open": gauge(
      "1 while `max_connection_pools` is reached (never: no limit)",
      {
        perProcess: true,
      },
    ),
    "circuit_breakers.default.rq_pending_open": gauge("1 while `max_pending_requests` requests wait", {
      perProcess: true,
    }),
    "circuit_breakers.default.rq_open": gauge("1 while `max_requests` requests are on connections", {
      perProcess: true,
    }),
    "circuit_breakers.default.rq_retry_open": gauge("1 while `max_retries` retries are in flight", {
      perProcess: true,
    }),
    "circuit_breakers.high.cx_open": gauge("The same for HIGH priority (no route has it: always 0)", {
      perProcess: true,
    }),
    "circuit_breakers.high.cx_pool_open": gauge("The same for HIGH priority", { perProcess: true }),
    "circuit_breakers.high.rq_pending_open": gauge("The same for HIGH priority", { perProcess: true }),
    "circuit_breakers.high.rq_open": gauge("The same for HIGH priority", { perProcess: true }),
    "circuit_breakers.high.rq_retry_open": gauge("The same for HIGH priority", { perProcess: true }),
    membership_total: gauge("Hosts in the cluster", { perProcess: true }),
    membership_healthy: gauge("Healthy hosts in the cluster", { perProcess: true }),
    update_attempt: counter("DNS resolutions of the cluster's hosts"),
    update_success: counter("DNS resolutions that succeeded"),
    update_failure: counter("DNS resolutions that failed"),
  },
  patterns: {
    "upstream_rq_<code>": counter("Responses by status code (`upstream_rq_503`), local replies included"),
    "upstream_rq_<N>xx": counter("Responses by status class (`upstream_rq_5xx`)"),
    "<origin>.upstream_rq_<code>": counter(
      "The same by origin: `external` or `internal` (the request carried `x-envoy-internal: true`); `retry` for responses that were retried (and counted only there)",
    ),
    "<origin>.upstream_rq_<N>xx": counter("The same by class"),
    "<origin>.upstream_rq_completed": counter("`upstream_rq_completed` by origin"),
  },
});

/** The cluster manager's stats (Envoy's `ALL_CLUSTER_MANAGER_STATS`), under `cluster_manager.`. */
export const CLUSTER_MANAGER_STATS = declareScope({
  prefix: "cluster_manager.",
  title: "Cluster manager",
  stats: {
    active_clusters: gauge("Clusters configured", { perProcess: true }),
    cluster_added: counter("Clusters added (at start and by reloads and CDS updates)"),
    cluster_modified: counter("Clusters replaced by a reload or CDS update with a changed config"),
    cluster_removed: counter("Clusters removed by a reload or CDS update"),
    warming_clusters: gauge("Clusters of a reload initializing (DNS) before they take traffic", {
      perProcess: true,
    }),
  },
});

/**
 * `cluster.<name>.outlier_detection.*` (Envoy's `ALL_OUTLIER_DETECTION_STATS`), created only for a
 * cluster with `outlier_detection`, as in Envoy. `ejections_detected_degradation` exists (Envoy shows
 * it) and stays 0: there is no degradation detector.
 */
export const OUTLIER_DETECTION_STATS = declareScope({
  prefix: "cluster.<name>.outlier_detection.",
  title: "Outlier detection (clusters with `outlier_detection`)",
  stats: {
    ejections_active: gauge("Hosts ejected now"),
    ejections_consecutive_5xx: counter("Deprecated: consecutive 5xx detections (enforced or not)"),
    ejections_detected_consecutive_5xx: counter("Hosts seen failing `consecutive_5xx` times in a row"),
    ejections_detected_consecutive_gateway_failure: counter(
      "Hosts seen answering 502/503/504 `consecutive_gateway_failure` times in a row",
    ),
    ejections_detected_consecutive_local_origin_failure: counter(
      "Hosts seen failing locally (connect failure, timeout) `consecutive_local_origin_failure` times in a row",
    ),
    ejections_detected_degradation: counter("Never (no degradation detector)"),
    ejections_detected_failure_percentage: counter(
      "Hosts seen failing `failure_percentage_threshold`% or more of an interval's requests",
    ),
    ejections_detected_local_origin_failure_percentage: counter(
      "The same for local-origin failures (`split_external_local_origin_errors`)",
    ),
    ejections_detected_local_origin_success_rate: counter(
      "The same as success rate for local-origin failures (`split_external_local_origin_errors`)",
    ),
    ejections_detected_success_rate: counter(
      "Hosts whose success rate in an interval was below the hosts' mean by `success_rate_stdev_factor`/1000 standard deviations",
    ),
    ejections_enforced_consecutive_5xx: counter("Ejections for consecutive 5xx"),
    ejections_enforced_consecutive_gateway_failure: counter("Ejections for consecutive gateway failures"),
    ejections_enforced_consecutive_local_origin_failure: counter(
      "Ejections for consecutive local-origin failures",
    ),
    ejections_enforced_failure_percentage: counter("Ejections for failure percentage"),
    ejections_enforced_local_origin_failure_percentage: counter(
      "Ejections for local-origin failure percentage",
    ),
    ejections_enforced_local_origin_success_rate: counter("Ejections for local-origin success rate"),
    ejections_enforced_success_rate: counter("Ejections for success rate"),
    ejections_enforced_total: counter("Ejections, any reason"),
    ejections_overflow: counter(
      "Ejections not done because `max_ejection_percent` of the hosts were ejected",
    ),
    ejections_success_rate: counter("Deprecated: success-rate detections (enforced or not)"),
    ejections_total: counter(
      "Deprecated: consecutive-5xx and success-rate ejections within `max_ejection_percent`, enforced or not",
    ),
  },
});

export type OutlierDetectionStats = StatsOf<typeof OUTLIER_DETECTION_STATS.stats>;

export function createOutlierDetectionStats(store: StatsStore, cluster: string): OutlierDetectionStats {
  return resolveScope(store, OUTLIER_DETECTION_STATS, cluster).stats;
}

/**
 * `cluster.<name>.health_check.*` (Envoy's `ALL_HEALTH_CHECKER_STATS`), created only for a cluster
 * with an applied `health_checks` entry, as in Envoy. With `--concurrency N` every worker checks, so
 * the counters are N times Envoy's (docs/ENVOY-DIFFERENCES.md).
 */
export const HEALTH_CHECK_STATS = declareScope({
  prefix: "cluster.<name>.health_check.",
  title: "Active health checking (clusters with `health_checks`)",
  stats: {
    attempt: counter("Health checks sent"),
    success: counter("Health checks passed"),
    failure: counter("Health checks failed (a wrong status, a timeout, a connection failure)"),
    passive_failure: counter("Never (no passive failure reaches the checker)"),
    network_failure: counter("Health checks failed by a timeout or a connection failure"),
    verify_cluster: counter("Never (no `service_name_matcher` check)"),
    healthy: gauge("Hosts passing their health check", { perProcess: true }),
    degraded: gauge("Never non-zero (no degraded hosts)", { perProcess: true }),
  },
});

export type HealthCheckStats = StatsOf<typeof HEALTH_CHECK_STATS.stats>;

const remaining = (what: string) =>
  gauge(`The limit minus the ${what} (\`track_remaining: true\` clusters only)`, { perProcess: true });

/** `circuit_breakers.<priority>.remaining_*`, for a priority whose thresholds set `track_remaining`. */
export const REMAINING_STATS = declareScope({
  prefix: "cluster.<name>.circuit_breakers.<priority>.",
  title: "Circuit breaker headroom (`track_remaining: true`)",
  stats: {
    remaining_cx: remaining("connections open or connecting"),
    remaining_pending: remaining("requests waiting for a connection"),
    remaining_rq: remaining("requests on connections"),
    remaining_retries: remaining("retries in flight"),
  },
});

export type RemainingStats = StatsOf<typeof REMAINING_STATS.stats>;

export function createRemainingStats(
  store: StatsStore,
  cluster: string,
  priority: "default" | "high",
): RemainingStats {
  return resolveScope(store, REMAINING_STATS, cluster, priority).stats;
}

export function createHealthCheckStats(store: StatsStore, cluster: string): HealthCheckStats {
  return resolveScope(store, HEALTH_CHECK_STATS, cluster).stats;
}

/** Cluster-level stats resolved once; see proxy/stats/store.ts. */
export type ClusterStats = StatsOf<typeof CLUSTER_STATS.stats> & {
  /**
   * Envoy's `chargeUpstreamCode`: the final response of a request (an upstream's, or the router's
   * local reply standing for it): `upstream_rq_<code>`, `upstream_rq_<N>xx`, `upstream_rq_completed`
   * and their `internal.`/`external.` copies. Each Counter is resolved once per code, then cached.
   */
  countResponse(status: number, internal: boolean): void;
  /** A response the router retried: `retry.upstream_rq_<code>`, `_<N>xx`, `_completed` only. */
  countRetriedResponse(status: number): void;
  /** `cluster.<name>.ssl.*`: a cluster with a TLS transport socket; null for a plain one. */
  ssl: SslStats | null;
};

export type ClusterManagerStats = StatsOf<typeof CLUSTER_MANAGER_STATS.stats>;

type PatternCounter = (
  pattern: keyof typeof CLUSTER_STATS.patterns,
  ...values: Array<string | number>
) => Counter;

/**
 * `upstream_rq_<code>`, `upstream_rq_<N>xx` and `upstream_rq_completed` for one origin (none, or
 * `external`/`internal`/`retry`), each Counter resolved on first use and cached by code: counting
 * allocates nothing after the first response of each code.
 */
class ResponseCodeCounters {
  private readonly byCode: (Counter | undefined)[] = [];
  private readonly byClass: (Counter | undefined)[] = [];
  private completedCounter: Counter | undefined;

  constructor(
    private readonly resolve: PatternCounter,
    private readonly origin: string | null,
    completed?: Counter,
  ) {
    this.completedCounter = completed;
  }

  count(status: number): void {
    if (!Number.isInteger(status) || status < 100 || status > 999) return;
    const origin = this.origin;
    let code = this.byCode[status];
    if (code === undefined) {
      code =
        origin === null
          ? this.resolve("upstream_rq_<code>", status)
          : this.resolve("<origin>.upstream_rq_<code>", origin, status);
      this.byCode[status] = code;
    }
    code.value++;
    const cls = Math.floor(status / 100);
    if (cls <= 5) {
      let klass = this.byClass[cls];
      if (klass === undefined) {
        klass =
          origin === null
            ? this.resolve("upstream_rq_<N>xx", cls)
            : this.resolve("<origin>.upstream_rq_<N>xx", origin, cls);
        this.byClass[cls] = klass;
      }
      klass.value++;
    }
    this.completedCounter ??= this.resolve("<origin>.upstream_rq_completed", origin ?? "");
    this.completedCounter.value++;
  }
}

/** The stats of cluster `name` under Envoy's names (`cluster.<name>.upstream_rq_total`, ...). */
export function createClusterStats(store: StatsStore, name: string, tls = false): ClusterStats {
  const scope = resolveScope(store, CLUSTER_STATS, name);
  const resolve: PatternCounter = (pattern, ...values) => scope.patternCounter(pattern, ...values);
  const all = new ResponseCodeCounters(resolve, null, scope.stats.upstream_rq_completed);
  const external = new ResponseCodeCounters(resolve, "external");
  const internal = new ResponseCodeCounters(resolve, "internal");
  const retry = new ResponseCodeCounters(resolve, "retry");
  return {
    ...scope.stats,
    ssl: tls ? clusterSslStats(store, name) : null,
    countResponse(status: number, isInternal: boolean): void {
      all.count(status);
      (isInternal ? internal : external).count(status);
    },
    countRetriedResponse(status: number): void {
      retry.count(status);
    },
  };
}

export function createClusterManagerStats(store: StatsStore): ClusterManagerStats {
  return resolveScope(store, CLUSTER_MANAGER_STATS).stats;
}
