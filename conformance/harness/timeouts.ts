/**
 * Every wait of the suite, in one place (ms), as Gateway API's TimeoutConfig. Each is generous: a
 * wait that runs out is a failure, so none may be tuned to pass on a quiet machine only (2 cores
 * under load is the norm here). A slower machine scales them all with one variable:
 * ECHOMESH_TIMEOUT_SCALE=2 doubles every wait (default 1; a positive number).
 */

/** ECHOMESH_TIMEOUT_SCALE, checked once. */
export function timeoutScale(value = process.env.ECHOMESH_TIMEOUT_SCALE): number {
  if (value === undefined || value === "") return 1;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(
      `ECHOMESH_TIMEOUT_SCALE=${value}: expected a positive number (e.g. 2 doubles every wait)`,
    );
  return n;
}

const BASE = {
  /** A whole test, unless it declares its own `timeoutMs`. */
  test: 60_000,
  /** An HTTP request or HTTP/2 stream, from send to the last byte of the response. */
  request: 20_000,
  /** A WebSocket handshake (101 or an error). */
  wsHandshake: 15_000,
  /** The next messages on a WebSocket (1,000 back to back included). */
  wsMessages: 60_000,
  /** A pong, or the echo's close after its last message. */
  wsPeer: 10_000,
  /** The peer's answer to our close before we terminate. */
  wsClose: 5_000,
  /** Gauges back to 0 after every client closed. */
  gaugesSettle: 15_000,
  /** A condition that must hold three times in a row (Gateway API's eventual consistency). */
  consistently: 30_000,
  /** Traffic converging on a DNS name's new members. */
  converge: 20_000,
  /** An LDS/CDS file moved into place until the proxy counted it (`update_success`/`_rejected`). */
  fileUpdate: 15_000,
  /**
   * An outlier-ejected host back in the rotation: `base_ejection_time` (2 s) times its ejections in a
   * row, plus a sweep `interval`, with room for a loaded machine.
   */
  outlierReturn: 20_000,
  /**
   * Envoy's `update_merge_window` (1 s) and some: a cluster's health change within it after the
   * previous one reaches the balancer only at its end.
   */
  updateMergeWindow: 1_500,
  /** Requests showing in flight (or waiting) in a cluster's admin stats. */
  inFlight: 15_000,
  /** How long the echo holds each request of a circuit breaker's load (`echo_delay`). */
  breakerHold: 3_000,
  /** A health-checked host's flag in `/clusters` following its echo's health switch (checks every 0.3 s). */
  healthFlip: 15_000,
  /**
   * What a health-check transition may take beyond interval x threshold before the test fails: a
   * check in flight when the switch happened, a loaded machine's timers, the `/clusters` polling.
   */
  healthCheckSlack: 1_500,
  /**
   * Past a delayed echo answer's due time, before reading the echos' answered counts: an answer left
   * running would have been written and counted by then (local replies: a timed-out request is reset).
   */
  pastEchoDelay: 1_500,
} as const;

/** The waits, scaled by ECHOMESH_TIMEOUT_SCALE. */
export const WAITS: { readonly [K in keyof typeof BASE]: number } = Object.fromEntries(
  Object.entries(BASE).map(([k, v]) => [k, Math.round(v * timeoutScale())]),
) as { [K in keyof typeof BASE]: number };
