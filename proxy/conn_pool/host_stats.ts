import { counter, declareScope, gauge } from "../stats/declare.js";

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
    cx_total: counter("Connections opened"),
    rq_active: gauge("Requests in progress"),
    rq_error: counter("Requests answered 5xx, or failed before a response"),
    rq_success: counter("Requests answered with a status below 500"),
    rq_total: counter("Requests sent"),
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
 */
export function countResponseHead(stats: HostStats, status: number): void {
  if (status >= 500) stats.rq_error++;
  else stats.rq_success++;
}

/** A failure before any response head. */
export function countFailureBeforeHead(stats: HostStats): void {
  stats.rq_error++;
}
