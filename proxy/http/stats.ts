import type { ListenerHttpStats } from "../listener/stats.js";
import { counter, declareScope, gauge, resolveScope, type StatsOf } from "../stats/declare.js";
import type { Counter, StatsStore } from "../stats/store.js";
import { type Http2CodecStats, resolveHttp2CodecStats } from "./h2_codec_stats.js";

/** The connection manager's stats (Envoy's `ALL_HTTP_CONN_MAN_STATS`), under `http.<stat_prefix>.`. */
export const HTTP_CONN_MAN_STATS = declareScope({
  prefix: "http.<stat_prefix>.",
  title: "Connection manager",
  stats: {
    downstream_cx_total: counter("Connections accepted"),
    downstream_cx_active: gauge("Connections open"),
    downstream_cx_http1_total: counter("HTTP/1.1 connections"),
    downstream_cx_http2_total: counter("HTTP/2 connections"),
    downstream_cx_http1_active: gauge("HTTP/1.1 connections open"),
    downstream_cx_ssl_total: counter("TLS connections (that completed their handshake)"),
    downstream_cx_ssl_active: gauge("TLS connections open"),
    downstream_cx_http2_active: gauge("HTTP/2 connections open"),
    downstream_cx_destroy: counter("Connections closed"),
    downstream_cx_destroy_local: counter("Connections closed by the proxy"),
    downstream_cx_destroy_remote: counter("Connections closed by the client (FIN or reset)"),
    downstream_cx_destroy_active_rq: counter("Connections closed with a request in progress"),
    downstream_cx_destroy_local_active_rq: counter(
      "Connections closed by the proxy with a request in progress",
    ),
    downstream_cx_destroy_remote_active_rq: counter(
      "Connections closed by the client with a request in progress",
    ),
    downstream_cx_idle_timeout: counter("Connections closed by `common_http_protocol_options.idle_timeout`"),
    downstream_cx_max_requests_reached: counter(
      "Connections closed after `common_http_protocol_options.max_requests_per_connection` requests",
    ),
    downstream_cx_protocol_error: counter("Connections closed on a protocol error"),
    downstream_cx_upgrades_total: counter(
      "Upgrade requests (WebSocket) a route allows, accepted by the upstream or not; also counted in the HTTP/1.1 and HTTP/2 totals",
    ),
    downstream_cx_upgrades_active: gauge("Upgraded connections open (tunnels)"),
    downstream_rq_total: counter("Requests"),
    downstream_rq_active: gauge("Requests in progress"),
    downstream_rq_http1_total: counter("HTTP/1.1 requests"),
    downstream_rq_http2_total: counter("HTTP/2 requests"),
    downstream_rq_1xx: counter("Responses with a 1xx status (101 for an upgrade)"),
    downstream_rq_2xx: counter("Responses with a 2xx status"),
    downstream_rq_3xx: counter("Responses with a 3xx status"),
    downstream_rq_4xx: counter("Responses with a 4xx status"),
    downstream_rq_5xx: counter("Responses with a 5xx status"),
    downstream_rq_completed: counter("Requests answered, whatever the status"),
    downstream_rq_rx_reset: counter(
      "Requests reset by the client, or cut by the connection's close before they were complete",
    ),
    downstream_rq_response_before_rq_complete: counter(
      "Responses complete before their request was (codec errors, early local replies, upgrades)",
    ),
    downstream_rq_tx_reset: counter("Requests reset by the proxy"),
    downstream_rq_too_many_premature_resets: counter(
      "HTTP/2 connections closed because most of their streams were reset by the client before a response (rapid reset)",
    ),
    downstream_rq_idle_timeout: counter(
      "Streams ended by `stream_idle_timeout` (or a route's `idle_timeout`)",
    ),
    downstream_rq_timeout: counter("Requests answered 408 by `request_timeout`"),
    downstream_rq_header_timeout: counter(
      "Requests answered 408 by `request_headers_timeout` (the head did not arrive in time)",
    ),
    downstream_rq_ws_on_non_ws_route: counter("Upgrade requests on a route that does not allow the upgrade"),
  },
});

/** The router filter's stats (Envoy's `ALL_ROUTER_STATS`), in the same `http.<stat_prefix>.` scope. */
export const ROUTER_STATS = declareScope({
  prefix: "http.<stat_prefix>.",
  title: "Router",
  stats: {
    no_route: counter("Requests no route matched (404)"),
    no_cluster: counter("Requests whose route names an unknown cluster (503)"),
    rq_total: counter("Requests the router handled"),
    rq_redirect: counter(
      "Internal redirects (not implemented: stays 0; a route's `redirect` counts in `rq_direct_response`, as in Envoy 1.40)",
    ),
    rq_direct_response: counter("Requests answered by a route's `direct_response` or `redirect`"),
    rq_reset_after_downstream_response_started: counter(
      "Upstream resets after the response had started whose success Envoy defers (gRPC only): never counted here, as in Envoy for HTTP",
    ),
  },
});

/**
 * The connection manager's and router's stats, resolved once per listener so that the request path
 * only increments fields.
 */
export type HcmStats = StatsOf<typeof HTTP_CONN_MAN_STATS.stats> &
  StatsOf<typeof ROUTER_STATS.stats> & {
    /**
     * Count a response code: `downstream_rq_<N>xx` and `downstream_rq_completed`, and their copies
     * under `listener.<address>.http.<stat_prefix>.` when the listener's are given.
     */
    countResponse(status: number): void;
    /** The downstream HTTP/2 codec's (`http2.*`, shared by every listener), made on the first call. */
    http2Codec(): Http2CodecStats;
  };

export function createHcmStats(
  store: StatsStore,
  statPrefix: string,
  listener: ListenerHttpStats | null = null,
): HcmStats {
  const hcm = resolveScope(store, HTTP_CONN_MAN_STATS, statPrefix).stats;
  const router = resolveScope(store, ROUTER_STATS, statPrefix).stats;
  const byClass: readonly Counter[] = [
    hcm.downstream_rq_1xx,
    hcm.downstream_rq_2xx,
    hcm.downstream_rq_3xx,
    hcm.downstream_rq_4xx,
    hcm.downstream_rq_5xx,
  ];
  const listenerByClass: readonly Counter[] =
    listener === null
      ? []
      : [
          listener.downstream_rq_1xx,
          listener.downstream_rq_2xx,
          listener.downstream_rq_3xx,
          listener.downstream_rq_4xx,
          listener.downstream_rq_5xx,
        ];
  let http2: Http2CodecStats | null = null;
  return {
    ...hcm,
    ...router,
    http2Codec(): Http2CodecStats {
      http2 ??= resolveHttp2CodecStats(store);
      return http2;
    },
    countResponse(status: number): void {
      const i = Math.floor(status / 100) - 1;
      const c = byClass[i];
      if (c !== undefined) c.value++;
      hcm.downstream_rq_completed.value++;
      if (listener === null) return;
      const l = listenerByClass[i];
      if (l !== undefined) l.value++;
      listener.downstream_rq_completed.value++;
    },
  };
}
