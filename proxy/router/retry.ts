/**
 * Envoy's retry decisions (router/retry_state_impl.cc) for one downstream request: which upstream
 * outcomes are retried under `retry_on`, how many retries remain, and the back-off before the next try.
 */

import type { ResetReason } from "../api/upstream.js";
import type { RetryPolicy } from "../config/model.js";

export class RetryState {
  /** Retries left under `num_retries`. */
  private left: number;
  /** Retries done so far. */
  attempts = 0;
  private readonly on5xx: boolean;
  private readonly onGatewayError: boolean;
  private readonly onReset: boolean;
  private readonly onConnectFailure: boolean;
  private readonly onRetriable4xx: boolean;
  private readonly onStatusCodes: boolean;
  private readonly onRefusedStream: boolean;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly random: () => number,
  ) {
    this.left = policy.numRetries;
    const on = policy.retryOn;
    this.on5xx = on.has("5xx");
    this.onGatewayError = on.has("gateway-error");
    this.onReset = on.has("reset");
    this.onConnectFailure = on.has("connect-failure");
    this.onRetriable4xx = on.has("retriable-4xx");
    this.onStatusCodes = on.has("retriable-status-codes");
    this.onRefusedStream = on.has("refused-stream");
  }

  get perTryTimeoutMs(): number {
    return this.policy.perTryTimeoutMs;
  }

  /** Would `retry_on` retry a response with this status (retries left or not)? */
  wouldRetryStatus(status: number): boolean {
    if (this.on5xx && status >= 500) return true;
    if (this.onGatewayError && (status === 502 || status === 503 || status === 504)) return true;
    if (this.onRetriable4xx && status === 409) return true;
    return this.onStatusCodes && this.policy.retriableStatusCodes.has(status);
  }

  /** Would `retry_on` retry a reset before response headers? (5xx and gateway-error count resets.) */
  wouldRetryReset(reason: ResetReason): boolean {
    if (reason === "overflow") return false;
    if (this.onReset || this.on5xx || this.onGatewayError) return true;
    if (this.onRefusedStream && reason === "remote reset") return false;
    return this.onConnectFailure && (reason === "connection failure" || reason === "connection timeout");
  }

  /** A per-try timeout counts as a 504. */
  wouldRetryTimeout(): boolean {
    return this.wouldRetryStatus(504);
  }

  /** Retries left under `num_retries` (none: the retry limit is reached, flag URX). */
  get remaining(): number {
    return this.left;
  }

  /** Take one retry if any remain; false = retry limit reached (flag URX). */
  take(): boolean {
    if (this.left <= 0) return false;
    this.left--;
    this.attempts++;
    return true;
  }

  /** Fully jittered exponential back-off: uniform in [0, min((2^n - 1) * base, max)). */
  backoffMs(): number {
    const base = this.policy.baseIntervalMs;
    const max = this.policy.maxIntervalMs;
    const ceiling = Math.min(((1 << Math.min(this.attempts, 30)) - 1) * base, max);
    return Math.floor(this.random() * ceiling);
  }
}
