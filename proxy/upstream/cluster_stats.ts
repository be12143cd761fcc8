import { counter, declareScope, gauge, resolveScope, type StatsOf } from "../stats/declare.js";
import type { Counter, StatsStore } from "../stats/store.js";

/** A cluster's stats (Envoy's `ALL_CLUSTER_STATS`), under `cluster.<name>.`. */
export const CLUSTER_STATS = declareScope({
  prefix: "cluster.<name>.",
  title: "Cluster",
  stats: {
    upstream_rq_total: counter("Requests sent upstream (every try)"),
    upstream_rq_active: gauge("Requests in progress"),
    upstream_rq_completed: counter("Requests an upstream answered"),
    upstream_rq_timeout: counter("Requests that hit the route's `timeout`"),
    upstream_rq_per_try_timeout: counter("Tries that hit the retry policy's `per_try_timeout`"),
    upstream_rq_retry: counter("Retries"),
    retry_or_shadow_abandoned: counter("Requests not retried because their body was over the buffer limit"),
    upstream_rq_pending_total: counter("Requests that waited for a connection"),
    upstream_rq_rx_reset: counter("Requests reset by the upstream"),
    upstream_rq_tx_reset: counter("Requests reset by the proxy"),
    upstream_cx_total: counter("Connections opened"),
    upstream_cx_active: gauge("Connections open"),
    upstream_cx_http1_total: counter("HTTP/1.1 connections"),
    upstream_cx_http2_total: counter("HTTP/2 connections"),
    upstream_cx_connect_fail: counter("Connections that failed to connect"),
    upstream_cx_connect_timeout: counter("Connections that hit the cluster's `connect_timeout`"),
    upstream_cx_destroy: counter("Connections closed"),
    membership_total: gauge("Hosts in the cluster", { perProcess: true }),
    membership_healthy: gauge("Healthy hosts in the cluster", { perProcess: true }),
    update_attempt: counter("DNS resolutions of the cluster's hosts"),
    update_success: counter("DNS resolutions that succeeded"),
    update_failure: counter("DNS resolutions that failed"),
  },
  patterns: {
    "upstream_rq_<code>": counter("Responses by status code (`upstream_rq_503`)"),
    "upstream_rq_<N>xx": counter("Responses by status class (`upstream_rq_5xx`)"),
  },
});

/** The cluster manager's stats (Envoy's `ALL_CLUSTER_MANAGER_STATS`), under `cluster_manager.`. */
export const CLUSTER_MANAGER_STATS = declareScope({
  prefix: "cluster_manager.",
  title: "Cluster manager",
  stats: {
    active_clusters: gauge("Clusters configured", { perProcess: true }),
  },
});

/** Cluster-level stats resolved once; see proxy/stats/store.ts. */
export type ClusterStats = StatsOf<typeof CLUSTER_STATS.stats> & {
  /** `upstream_rq_200`, `upstream_rq_2xx`...: counted through this, which caches the Counter per code. */
  countResponse(status: number): void;
};

export type ClusterManagerStats = StatsOf<typeof CLUSTER_MANAGER_STATS.stats>;

/**
 * The stats of cluster `name` under Envoy's names (`cluster.<name>.upstream_rq_total`, ...).
 * `countResponse(503)` increments `upstream_rq_503` and `upstream_rq_5xx`; each Counter is looked up
 * once per status code and then cached in an array, so counting is allocation-free.
 */
export function createClusterStats(store: StatsStore, name: string): ClusterStats {
  const scope = resolveScope(store, CLUSTER_STATS, name);
  const byCode: (Counter | undefined)[] = [];
  const byClass: (Counter | undefined)[] = [];
  return {
    ...scope.stats,
    countResponse(status: number): void {
      if (!Number.isInteger(status) || status < 0 || status > 999) return;
      let code = byCode[status];
      if (code === undefined) {
        code = scope.patternCounter("upstream_rq_<code>", status);
        byCode[status] = code;
      }
      code.value++;
      const cls = Math.floor(status / 100);
      if (cls < 1 || cls > 5) return;
      let klass = byClass[cls];
      if (klass === undefined) {
        klass = scope.patternCounter("upstream_rq_<N>xx", cls);
        byClass[cls] = klass;
      }
      klass.value++;
    },
  };
}

export function createClusterManagerStats(store: StatsStore): ClusterManagerStats {
  return resolveScope(store, CLUSTER_MANAGER_STATS).stats;
}
