import type { SocketAddress } from "../config/model.js";
import { counter, declareScope, gauge, resolveScope, type StatsOf } from "../stats/declare.js";
import type { StatsStore } from "../stats/store.js";

/** A listener's stats (Envoy's `ALL_LISTENER_STATS`), under `listener.<address>.`. */
export const LISTENER_STATS = declareScope({
  prefix: "listener.<address>.",
  title: "Listener",
  stats: {
    downstream_cx_total: counter("Connections accepted"),
    downstream_cx_active: gauge("Connections open"),
    downstream_cx_destroy: counter("Connections closed"),
    downstream_cx_overflow: counter(
      "Connections closed as soon as accepted: the listener's connection limit (runtime `envoy.resource_limits.listener.<name>.connection_limit`) was reached",
    ),
    downstream_global_cx_overflow: counter(
      "Connections closed as soon as accepted: the overload manager's `global_downstream_max_connections` was reached",
    ),
  },
});

/** The overload manager's global connection limit (present when it is configured). */
export const GLOBAL_CONNECTIONS_STATS = declareScope({
  prefix: "overload.envoy.resource_monitors.global_downstream_max_connections.",
  title: "Overload manager, global_downstream_max_connections",
  stats: {
    failed_updates: counter("Connections refused by the limit (Envoy counts each refused allocation)"),
    pressure: gauge("Always 0, as in Envoy (a proactive monitor reports no pressure)"),
  },
});

/**
 * The connection manager's per-listener copies of its response counters (Envoy's
 * `CONN_MAN_LISTENER_STATS`), under `listener.<address>.http.<stat_prefix>.`.
 */
export const LISTENER_HTTP_STATS = declareScope({
  prefix: "listener.<address>.http.<stat_prefix>.",
  title: "Connection manager, per listener",
  stats: {
    downstream_rq_1xx: counter("Responses with a 1xx status"),
    downstream_rq_2xx: counter("Responses with a 2xx status"),
    downstream_rq_3xx: counter("Responses with a 3xx status"),
    downstream_rq_4xx: counter("Responses with a 4xx status"),
    downstream_rq_5xx: counter("Responses with a 5xx status"),
    downstream_rq_completed: counter("Requests answered, whatever the status"),
  },
});

export type ListenerStats = StatsOf<typeof LISTENER_STATS.stats>;
export type ListenerHttpStats = StatsOf<typeof LISTENER_HTTP_STATS.stats>;
export type GlobalConnectionsStats = StatsOf<typeof GLOBAL_CONNECTIONS_STATS.stats>;

/**
 * The `<address>` of a listener's stats, as Envoy names it: the configured address (port 0 stays 0),
 * `:` made `_` (`127.0.0.1_80`, `[__1]_80`).
 */
export function listenerStatName(address: SocketAddress): string {
  const host = address.address.includes(":") ? `[${address.address}]` : address.address;
  return `${host}:${address.port}`.replace(/:/g, "_");
}

export function createListenerStats(store: StatsStore, address: SocketAddress): ListenerStats {
  return resolveScope(store, LISTENER_STATS, listenerStatName(address)).stats;
}

export function createListenerHttpStats(
  store: StatsStore,
  address: SocketAddress,
  statPrefix: string,
): ListenerHttpStats {
  return resolveScope(store, LISTENER_HTTP_STATS, listenerStatName(address), statPrefix).stats;
}
