import type { Counter, StatsStore } from "../stats/store.js";
import type { ClusterStats } from "./host.js";

/**
 * The stats of cluster `name` under Envoy's names (`cluster.<name>.upstream_rq_total`, ...).
 * `countResponse(503)` increments `upstream_rq_503` and `upstream_rq_5xx`; each Counter is looked up
 * once per status code and then cached in an array, so counting is allocation-free.
 */
export function createClusterStats(store: StatsStore, name: string): ClusterStats {
  const scope = store.scope(`cluster.${name}.`);
  const byCode: (Counter | undefined)[] = [];
  const byClass: (Counter | undefined)[] = [];
  return {
    upstream_rq_total: scope.counter("upstream_rq_total"),
    upstream_rq_active: scope.gauge("upstream_rq_active"),
    upstream_rq_completed: scope.counter("upstream_rq_completed"),
    upstream_rq_timeout: scope.counter("upstream_rq_timeout"),
    upstream_rq_retry: scope.counter("upstream_rq_retry"),
    upstream_rq_pending_total: scope.counter("upstream_rq_pending_total"),
    upstream_rq_rx_reset: scope.counter("upstream_rq_rx_reset"),
    upstream_rq_tx_reset: scope.counter("upstream_rq_tx_reset"),
    upstream_cx_total: scope.counter("upstream_cx_total"),
    upstream_cx_active: scope.gauge("upstream_cx_active"),
    upstream_cx_http1_total: scope.counter("upstream_cx_http1_total"),
    upstream_cx_http2_total: scope.counter("upstream_cx_http2_total"),
    upstream_cx_connect_fail: scope.counter("upstream_cx_connect_fail"),
    upstream_cx_connect_timeout: scope.counter("upstream_cx_connect_timeout"),
    upstream_cx_destroy: scope.counter("upstream_cx_destroy"),
    membership_total: scope.gauge("membership_total"),
    membership_healthy: scope.gauge("membership_healthy"),
    update_attempt: scope.counter("update_attempt"),
    update_success: scope.counter("update_success"),
    update_failure: scope.counter("update_failure"),
    countResponse(status: number): void {
      if (!Number.isInteger(status) || status < 0 || status > 999) return;
      let code = byCode[status];
      if (code === undefined) {
        code = scope.counter(`upstream_rq_${status}`);
        byCode[status] = code;
      }
      code.value++;
      const cls = Math.floor(status / 100);
      if (cls < 1 || cls > 5) return;
      let klass = byClass[cls];
      if (klass === undefined) {
        klass = scope.counter(`upstream_rq_${cls}xx`);
        byClass[cls] = klass;
      }
      klass.value++;
    },
  };
}
