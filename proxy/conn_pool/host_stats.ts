import type { HostStats } from "../upstream/host.js";

/**
 * Per-host request outcome, counted as Envoy's router does: a response head decides it (non-5xx is
 * `rq_success`, 5xx is `rq_error`); a failure before any response head is `rq_error`. What happens
 * after the head (the body ends, the upstream resets, or the client goes away first) no longer
 * changes it. Counting at the head also keeps the count exact when a downstream client hangs up
 * the moment it has the last byte, before the upstream's end of stream has been read.
 */
export function countResponseHead(stats: HostStats, status: number): void {
  if (status >= 500) stats.rqError++;
  else stats.rqSuccess++;
}

/** A failure before any response head. */
export function countFailureBeforeHead(stats: HostStats): void {
  stats.rqError++;
}
