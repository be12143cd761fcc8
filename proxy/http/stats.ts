import type { Counter, Gauge, StatsStore } from "../stats/store.js";

/**
 * The connection manager's and router's stats under Envoy's names (`http.<stat_prefix>.*`), resolved
 * once per listener so that the request path only increments fields.
 */
export interface HcmStats {
  downstream_cx_total: Counter;
  downstream_cx_active: Gauge;
  downstream_cx_http1_total: Counter;
  downstream_cx_http2_total: Counter;
  downstream_cx_http1_active: Gauge;
  downstream_cx_http2_active: Gauge;
  downstream_cx_destroy: Counter;
  /** Connections closed by `common_http_protocol_options.idle_timeout`. */
  downstream_cx_idle_timeout: Counter;
  downstream_cx_protocol_error: Counter;
  downstream_cx_upgrades_total: Counter;
  downstream_cx_upgrades_active: Gauge;
  downstream_rq_total: Counter;
  downstream_rq_active: Gauge;
  downstream_rq_http1_total: Counter;
  downstream_rq_http2_total: Counter;
  downstream_rq_1xx: Counter;
  downstream_rq_2xx: Counter;
  downstream_rq_3xx: Counter;
  downstream_rq_4xx: Counter;
  downstream_rq_5xx: Counter;
  downstream_rq_completed: Counter;
  downstream_rq_rx_reset: Counter;
  downstream_rq_tx_reset: Counter;
  /** Streams ended by `stream_idle_timeout` (or a route's `idle_timeout`). */
  downstream_rq_idle_timeout: Counter;
  /** Requests answered 408 by `request_timeout`. */
  downstream_rq_timeout: Counter;
  downstream_rq_ws_on_non_ws_route: Counter;
  /** Router filter stats (Envoy's `http.<stat_prefix>.no_route` ...). */
  no_route: Counter;
  no_cluster: Counter;
  rq_total: Counter;
  rq_redirect: Counter;
  rq_direct_response: Counter;
  rq_reset_after_downstream_response_started: Counter;
  /** Count a response code: `downstream_rq_<N>xx` and `downstream_rq_completed`. */
  countResponse(status: number): void;
}

export function createHcmStats(store: StatsStore, statPrefix: string): HcmStats {
  const s = store.scope(`http.${statPrefix}.`);
  const byClass = [
    s.counter("downstream_rq_1xx"),
    s.counter("downstream_rq_2xx"),
    s.counter("downstream_rq_3xx"),
    s.counter("downstream_rq_4xx"),
    s.counter("downstream_rq_5xx"),
  ];
  const stats: HcmStats = {
    downstream_cx_total: s.counter("downstream_cx_total"),
    downstream_cx_active: s.gauge("downstream_cx_active"),
    downstream_cx_http1_total: s.counter("downstream_cx_http1_total"),
    downstream_cx_http2_total: s.counter("downstream_cx_http2_total"),
    downstream_cx_http1_active: s.gauge("downstream_cx_http1_active"),
    downstream_cx_http2_active: s.gauge("downstream_cx_http2_active"),
    downstream_cx_destroy: s.counter("downstream_cx_destroy"),
    downstream_cx_idle_timeout: s.counter("downstream_cx_idle_timeout"),
    downstream_cx_protocol_error: s.counter("downstream_cx_protocol_error"),
    downstream_cx_upgrades_total: s.counter("downstream_cx_upgrades_total"),
    downstream_cx_upgrades_active: s.gauge("downstream_cx_upgrades_active"),
    downstream_rq_total: s.counter("downstream_rq_total"),
    downstream_rq_active: s.gauge("downstream_rq_active"),
    downstream_rq_http1_total: s.counter("downstream_rq_http1_total"),
    downstream_rq_http2_total: s.counter("downstream_rq_http2_total"),
    downstream_rq_1xx: byClass[0] as Counter,
    downstream_rq_2xx: byClass[1] as Counter,
    downstream_rq_3xx: byClass[2] as Counter,
    downstream_rq_4xx: byClass[3] as Counter,
    downstream_rq_5xx: byClass[4] as Counter,
    downstream_rq_completed: s.counter("downstream_rq_completed"),
    downstream_rq_rx_reset: s.counter("downstream_rq_rx_reset"),
    downstream_rq_tx_reset: s.counter("downstream_rq_tx_reset"),
    downstream_rq_idle_timeout: s.counter("downstream_rq_idle_timeout"),
    downstream_rq_timeout: s.counter("downstream_rq_timeout"),
    downstream_rq_ws_on_non_ws_route: s.counter("downstream_rq_ws_on_non_ws_route"),
    no_route: s.counter("no_route"),
    no_cluster: s.counter("no_cluster"),
    rq_total: s.counter("rq_total"),
    rq_redirect: s.counter("rq_redirect"),
    rq_direct_response: s.counter("rq_direct_response"),
    rq_reset_after_downstream_response_started: s.counter("rq_reset_after_downstream_response_started"),
    countResponse(status: number): void {
      const c = byClass[Math.floor(status / 100) - 1];
      if (c !== undefined) c.value++;
      stats.downstream_rq_completed.value++;
    },
  };
  return stats;
}
