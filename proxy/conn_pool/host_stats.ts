import { counter, declareScope, gauge } from "../stats/declare.js";
import type { ClusterStats } from "../upstream/cluster_stats.js";

/**
 * Per-host stats (Envoy's `ALL_HOST_STATS`), shown by the admin's `/clusters` as
 * `<cluster>::<host>::<stat>::<value>`. They are plain numbers on each Host, not in the store (as in
 * Envoy); declared in name order, the order `/clusters` prints them in.
 */
export const HOST_STATS = declareScope({
  prefix: "<cluster>::<host>::",
  title: "Host, in the admin's `/clusters`",
  stats: {
    cx_active: gauge("Connections open"),
    cx_connect_fail: counter("Connections that failed to connect (refused, or `connect_timeout`)"),
    cx_total: counter("Connections opened"),
    rq_active: gauge("Requests on a connection, waiting for or reading their response"),
    rq_error: counter(
      "Requests answered 5xx (a local 503/504 included), reset or timed out before a response, or retried",
    ),
    rq_pending_active: gauge("Requests waiting for a connection"),
    rq_success: counter("Requests answered with a status below 500"),
    rq_timeout: counter("Tries that hit the route's `timeout` or the `per_try_timeout`"),
    rq_total: counter("Requests sent on a connection (a request whose connect failed is not one)"),
  },
});

/** A Host's counters, named as Envoy names them. */
export type HostStats = { -readonly [N in keyof typeof HOST_STATS.stats]: number };

/** Every host stat at 0. */
export function newHostStats(): HostStats {
  const stats: Record<string, number> = {};
  for (const name of Object.keys(HOST_STATS.stats)) stats[name] = 0;
  return stats as HostStats;
}

/**
 * Per-host request outcome, counted as Envoy's router does: a response head decides it (non-5xx is
 * `rq_success`, 5xx is `rq_error`); a failure before any response head is `rq_error`. What happens
 * after the head (the body ends, the upstream resets, or the client goes away first) no longer
 * changes it. Counting at the head also keeps the count exact when a downstream client hangs up
 * the moment it has the last byte, before the upstream's end of stream has been read.
 * (A try the router abandons on a timeout is counted by the router: `rq_timeout` and `rq_error`.)
 */
export function countResponseHead(stats: HostStats, status: number): void {
  if (status >= 500) stats.rq_error++;
  else stats.rq_success++;
}

/**
 * The router retried a response whose head the pool counted: Envoy's router counts every retried
 * response in `rq_error`, a retriable 4xx (`retriable_status_codes`) included.
 */
export function countRetriedHead(stats: HostStats, status: number): void {
  if (status >= 500) return;
  stats.rq_success--;
  stats.rq_error++;
}

/** A failure before any response head. */
export function countFailureBeforeHead(stats: HostStats): void {
  stats.rq_error++;
}

/**
 * Where a request stands in its host's pool, for the stats Envoy keeps per state
 * (`ConnPoolImplBase`): `new` (not yet given to a connection), `pending` (waiting for one),
 * `active` (on a connection: `attachStreamToClient`), `done`.
 */
export type PoolState = "new" | "pending" | "active" | "done";

/** A pool's request: its state, its host's stats and its cluster's. */
export interface PoolAccounted {
  poolState: PoolState;
  readonly hostStats: HostStats;
  readonly clusterStats: ClusterStats;
}

/**
 * The request waits for a connection (Envoy's `newPendingStream`): `upstream_rq_pending_total`, and
 * the pending gauges until it gets one or fails.
 */
export function enterPending(rq: PoolAccounted): void {
  if (rq.poolState !== "new") return;
  rq.poolState = "pending";
  rq.clusterStats.upstream_rq_pending_total.value++;
  rq.clusterStats.upstream_rq_pending_active.value++;
  rq.hostStats.rq_pending_active++;
}

/**
 * The request got a connection and is being sent (Envoy's `attachStreamToClient`): only from here
 * is it in `rq_total`/`upstream_rq_total` and the active gauges. A request whose connect failed
 * never gets here (Envoy: `upstream_rq_total` 0, `upstream_rq_pending_failure_eject` 1).
 */
export function enterActive(rq: PoolAccounted): void {
  if (rq.poolState === "active" || rq.poolState === "done") return;
  if (rq.poolState === "pending") leavePending(rq);
  rq.poolState = "active";
  rq.hostStats.rq_total++;
  rq.hostStats.rq_active++;
  rq.clusterStats.upstream_rq_total.value++;
  rq.clusterStats.upstream_rq_active.value++;
}

/**
 * The request is over in the pool (answered, reset, aborted, failed). A pending request that fails
 * (its connection could not be made) is `upstream_rq_pending_failure_eject` when `ejected`.
 */
export function leavePool(rq: PoolAccounted, ejected = false): void {
  if (rq.poolState === "pending") {
    leavePending(rq);
    if (ejected) rq.clusterStats.upstream_rq_pending_failure_eject.value++;
  } else if (rq.poolState === "active") {
    rq.hostStats.rq_active--;
    rq.clusterStats.upstream_rq_active.value--;
  }
  rq.poolState = "done";
}

function leavePending(rq: PoolAccounted): void {
  rq.clusterStats.upstream_rq_pending_active.value--;
  rq.hostStats.rq_pending_active--;
}
