/**
 * Envoy's retry decisions (router/retry_state_impl.cc) for one downstream request: which upstream
 * outcomes are retried under `retry_on`, how many retries remain, the host a retry goes to
 * (`previous_hosts`), and the back-off before the next try.
 */

import { ErrorCode } from "../../lib/http2/frames.js";
import { getRawHeader } from "../api/headers.js";
import type { RawHeaders, ResetReason } from "../api/upstream.js";
import type { ConfigVersion, HeaderMatcher, RetryPolicy } from "../config/model.js";
import type { DownstreamStream } from "../http/stream.js";
import type { Cluster } from "../upstream/cluster.js";
import type { Host } from "../upstream/host.js";
import { lookup } from "./router.js";
import { matchHeader } from "./string_match.js";

/** The detail of an HTTP/2 stream the upstream refused (conn_pool/h2_request.ts words it so). */
export const REFUSED_STREAM_DETAIL = `stream closed with error code ${ErrorCode.REFUSED_STREAM}`;

/**
 * Envoy's `retriable_request_headers`: with matchers, only a request matching one of them gets a
 * retry state at all (RetryStateImpl::create returns none otherwise).
 */
export function retriableRequest(policy: RetryPolicy, stream: DownstreamStream): boolean {
  for (const m of policy.retriableRequestHeaders) if (matchHeader(m, lookup(stream, m.name))) return true;
  return policy.retriableRequestHeaders.length === 0;
}

export class RetryState {
  /** Retries left under `num_retries`. */
  private left: number;
  /** Retries done so far. */
  attempts = 0;
  private readonly on5xx: boolean;
  private readonly onGatewayError: boolean;
  private readonly onReset: boolean;
  private readonly onResetBeforeRequest: boolean;
  private readonly onConnectFailure: boolean;
  private readonly onRetriable4xx: boolean;
  private readonly onStatusCodes: boolean;
  private readonly onRefusedStream: boolean;
  private readonly onRetriableHeaders: boolean;
  private readonly onRateLimited: boolean;
  /** Hosts tried so far, with `previous_hosts` only (else null: nothing kept). */
  private readonly triedHosts: Host[] | null;
  /** The next back-off's ceiling (Envoy 1.40's JitteredExponentialBackOffStrategy). */
  private nextIntervalMs: number;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly random: () => number,
    private readonly dialect: ConfigVersion = "v3",
  ) {
    this.left = policy.numRetries;
    const on = policy.retryOn;
    this.on5xx = on.has("5xx");
    this.onGatewayError = on.has("gateway-error");
    this.onReset = on.has("reset");
    this.onResetBeforeRequest = on.has("reset-before-request");
    this.onConnectFailure = on.has("connect-failure");
    this.onRetriable4xx = on.has("retriable-4xx");
    this.onStatusCodes = on.has("retriable-status-codes");
    this.onRefusedStream = on.has("refused-stream");
    this.onRetriableHeaders = on.has("retriable-headers") && policy.retriableHeaders.length > 0;
    this.onRateLimited = on.has("envoy-ratelimited");
    this.triedHosts = policy.previousHosts ? [] : null;
    this.nextIntervalMs = policy.baseIntervalMs;
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

  /**
   * Would `retry_on` retry this response head? Its status, `x-envoy-ratelimited` (any value) under
   * `envoy-ratelimited`, a header matching `retriable_headers` under `retriable-headers`.
   */
  wouldRetryResponse(status: number, headers: RawHeaders): boolean {
    if (this.wouldRetryStatus(status)) return true;
    if (this.onRateLimited && getRawHeader(headers, "x-envoy-ratelimited") !== undefined) return true;
    return this.onRetriableHeaders && matchesAny(this.policy.retriableHeaders, headers);
  }

  /**
   * Would `retry_on` retry a reset before response headers? 5xx, gateway-error and reset count every
   * reset; reset-before-request and connect-failure only a try whose request never left (its
   * connection failed); refused-stream an HTTP/2 stream the upstream refused. An overflow never.
   */
  wouldRetryReset(reason: ResetReason, detail: string): boolean {
    if (reason === "overflow") return false;
    if (this.onReset || this.on5xx || this.onGatewayError) return true;
    const connectFailed = reason === "connection failure" || reason === "connection timeout";
    if ((this.onConnectFailure || this.onResetBeforeRequest) && connectFailed) return true;
    return this.onRefusedStream && reason === "remote reset" && detail === REFUSED_STREAM_DETAIL;
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

  /**
   * The host for a try: the load balancer's pick, and with `previous_hosts` up to
   * `host_selection_retry_max_attempts` more picks while it is a host already tried (the last pick
   * stands, as in Envoy's LoadBalancerBase::chooseHost).
   */
  chooseHost(cluster: Cluster): Host | null {
    let host = cluster.chooseHost();
    const tried = this.triedHosts;
    if (tried === null || host === null) return host;
    for (let i = 0; i < this.policy.hostSelectionRetryMaxAttempts && tried.includes(host); i++) {
      host = cluster.chooseHost() ?? host;
    }
    tried.push(host);
    return host;
  }

  /**
   * Fully jittered exponential back-off, uniform in [0, ceiling). Envoy 1.40 (v3): the ceiling starts
   * at `base_interval` and doubles per retry; once it reaches half of `max_interval` the next is
   * `max_interval`. Envoy of 2018 (v2): the n-th retry's ceiling is (2^n - 1) x base, capped at max.
   */
  backoffMs(): number {
    const base = this.policy.baseIntervalMs;
    const max = this.policy.maxIntervalMs;
    let ceiling: number;
    if (this.dialect === "v2") {
      ceiling = Math.min(((1 << Math.min(this.attempts, 30)) - 1) * base, max);
    } else {
      ceiling = this.nextIntervalMs;
      this.nextIntervalMs = ceiling < max / 2 ? ceiling * 2 : max;
    }
    return Math.min(Math.floor(this.random() * ceiling), max);
  }
}

function matchesAny(matchers: readonly HeaderMatcher[], headers: RawHeaders): boolean {
  for (const m of matchers) if (matchHeader(m, getRawHeader(headers, m.name))) return true;
  return false;
}
