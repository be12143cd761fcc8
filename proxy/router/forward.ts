/**
 * The router filter's forwarding of one request (Envoy's `Router::Filter` + `UpstreamRequest`):
 * tries (a new host each), the route timeout armed at the end of the downstream request, per-try
 * timeouts, retries with jittered back-off, the response streamed back with backpressure, and the
 * local replies and resets of every failure.
 */
import type { Readable } from "node:stream";
import { hasRawHeader } from "../api/headers.js";
import type {
  ConnPool,
  RawHeaders,
  ResetReason,
  UpstreamRequest,
  UpstreamRequestHandle,
  UpstreamResponseHandler,
} from "../api/upstream.js";
import type { ConfigVersion, ForwardAction, RetryPolicy, RouteMatch } from "../config/model.js";
import { countRetriedHead } from "../conn_pool/host_stats.js";
import { resentOnStaleConnection } from "../conn_pool/http1_pool.js";
import {
  NO_HEALTHY_UPSTREAM,
  resetDetails,
  resetFlag,
  UPSTREAM_TIMEOUT,
  upstreamResetBody,
  upstreamResetStatus,
} from "../http/local_reply.js";
import type { HcmStats } from "../http/stats.js";
import type { DownstreamStream } from "../http/stream.js";
import type { Cluster } from "../upstream/cluster.js";
import type { Host } from "../upstream/host.js";
import { localOriginFailureOf } from "../upstream/outlier_detection.js";
import { consumeRouterHeaders, mergeRetryPolicy } from "./header_policy.js";
import { RetryState, retriableRequest } from "./retry.js";
import { beginUpstream, buildUpstreamRequest, expectedTimeout, setHeader } from "./upstream_request.js";

export interface ForwardContext {
  readonly hcmStats: HcmStats;
  /** Uniform in [0, 1). */
  readonly random: () => number;
  /** Largest request body buffered for retries (Envoy's per-connection buffer limit, 1 MiB). */
  readonly retryBufferLimit: number;
  /** The config file's dialect: how local replies word a reset. */
  readonly dialect: ConfigVersion;
}

/** The virtual host's `x-envoy-attempt-count` options (a `VirtualHostConfig`). */
export interface AttemptCountOptions {
  readonly includeRequestAttemptCount: boolean;
  readonly includeAttemptCountInResponse: boolean;
}

/** One try: forwards the pool's callbacks while it is the current try. */
class Attempt implements UpstreamResponseHandler {
  handle: UpstreamRequestHandle | null = null;
  active = true;
  constructor(private readonly fwd: Forwarder) {}
  onHeaders(status: number, headers: RawHeaders): void {
    if (this.active) this.fwd.onHeaders(this, status, headers);
  }
  onData(chunk: Buffer): void {
    if (this.active) this.fwd.onData(this, chunk);
  }
  onComplete(trailers: RawHeaders | null): void {
    if (this.active) this.fwd.onComplete(this, trailers);
  }
  onError(reason: ResetReason, detail: string): void {
    if (this.active) this.fwd.onError(this, reason, detail);
  }
}

export class Forwarder {
  private readonly req: UpstreamRequest;
  private retry: RetryState | null;
  private current: Attempt | null = null;
  /** The host of the current (or last) try. */
  private currentHost: Host | null = null;
  private tryStart = 0;
  private globalTimer: NodeJS.Timeout | null = null;
  private perTryTimer: NodeJS.Timeout | null = null;
  private backoffTimer: NodeJS.Timeout | null = null;
  private requestComplete = false;
  private requestCompleteAt = 0;
  /** The route's `timeout`, or an internal client's `x-envoy-upstream-rq-timeout-ms`. */
  private readonly timeoutMs: number;
  /** The route's `per_try_timeout` (applies even with `num_retries: 0`, as in Envoy). */
  private readonly perTryTimeoutMs: number;
  /** The request carries `x-envoy-internal: true`: its response codes count as `internal.` (else `external.`). */
  private readonly internal: boolean;
  /** The current try's pool speaks HTTP/1.1 (whose responses carry trailers only when chunked). */
  private upstreamHttp1 = false;
  private waitingDrain = false;
  /** The first try waits for the body bytes of this loop iteration (start()); its pool is held. */
  private coalescing = false;
  private heldPool: ConnPool | null = null;
  /** A retry is counted in the cluster's `max_retries` for this request. */
  private holdsRetry = false;
  /** Tries started (Envoy's attempt_count_, `x-envoy-attempt-count`). */
  private attemptCount = 0;
  private done = false;

  constructor(
    private readonly ctx: ForwardContext,
    private readonly stream: DownstreamStream,
    private readonly cluster: Cluster,
    private readonly action: ForwardAction,
    match: RouteMatch,
    retryPolicy: RetryPolicy | null,
    private readonly vhost: AttemptCountOptions,
  ) {
    let policy = retryPolicy;
    let timeoutMs = action.timeoutMs;
    let headerPerTry: number | null = null;
    let hedge = false;
    if (stream.internal) {
      // An internal client's x-envoy-* headers override the route (and are consumed).
      const o = consumeRouterHeaders(stream.headers);
      if (o !== null) {
        policy = mergeRetryPolicy(retryPolicy, o);
        if (o.timeoutMs !== null) timeoutMs = o.timeoutMs;
        headerPerTry = o.perTryTimeoutMs;
        hedge = o.hedgeOnPerTryTimeout;
      }
    }
    this.timeoutMs = timeoutMs;
    // Envoy keeps a retry state whenever `retry_on` names a condition, `num_retries: 0` included (a
    // retriable outcome is then `upstream_rq_retry_limit_exceeded`, flag URX).
    // With `retriable_request_headers`, a request matching none of them gets no retry state.
    this.retry =
      policy !== null && policy.retryOn.size > 0 && retriableRequest(policy, stream)
        ? new RetryState(policy, ctx.random, ctx.dialect)
        : null;
    const perTry = headerPerTry ?? policy?.perTryTimeoutMs ?? 0;
    // A per-try timeout not below the route timeout is none (Envoy's finalTimeout).
    this.perTryTimeoutMs = timeoutMs > 0 && perTry >= timeoutMs ? 0 : perTry;
    this.req = buildUpstreamRequest(stream, action, match, expectedTimeout(timeoutMs, hedge ? 0 : perTry));
    this.internal = isEnvoyInternal(this.req.headers);
  }

  start(): void {
    const stream = this.stream;
    stream.onAbort = () => this.onDownstreamAbort();
    const body = stream.body;
    if (body === null) {
      this.onRequestComplete();
      this.startTry();
    } else if (this.retry !== null) {
      bufferBody(body, this.ctx.retryBufferLimit, false, (buffered) => {
        if (this.done) return;
        if (buffered === null) {
          // Over the buffer limit: no retries (Envoy's retry_or_shadow_abandoned); stream the body.
          this.cluster.stats.retry_or_shadow_abandoned.value++;
          this.retry = null;
          this.streamBody(body);
        } else {
          this.req.body = buffered;
          this.onBodyEnd();
        }
        this.startTry();
      });
    } else if (this.stream.protocol !== "HTTP/2" && hasRawHeader(this.req.headers, "content-length")) {
      // Envoy's write buffer coalesces what one dispatch produced: the head and the body bytes read
      // with it go upstream in one write. Here the try is chosen now and sent when this loop
      // iteration's reads are in (a setImmediate): a body that has all arrived goes as one Buffer
      // (one write with the head, no stream piped), a body still coming is streamed.
      this.coalescing = true;
      this.startTry();
      // Answered already (no healthy upstream): the body is left to the codec, as for any reply.
      if (this.done) return;
      if (this.heldPool?.protocol === "http1" && !resentOnStaleConnection(this.req.method)) {
        // An HTTP/1.1 connection writes the head together with what the body holds by then (one
        // writev, lib/http1/client_connection.ts): gathering the body first would only copy it.
        // Not for a request its pool may resend, whose body must stay whole for that.
        setImmediate(() => {
          this.coalescing = false;
          if (this.done) return;
          this.streamBody(body);
          this.dispatchHeld();
        });
        return;
      }
      bufferBody(body, this.ctx.retryBufferLimit, true, (whole) => {
        this.coalescing = false;
        if (this.done) return;
        if (whole === null) this.streamBody(body);
        else {
          this.req.body = whole;
          this.onBodyEnd();
        }
        this.dispatchHeld();
      });
    } else {
      this.streamBody(body);
      this.startTry();
    }
  }

  private streamBody(body: Readable): void {
    this.req.body = body;
    body.once("end", () => this.onBodyEnd());
  }

  /** Send the try that waited for the body (start()). */
  private dispatchHeld(): void {
    const pool = this.heldPool;
    const attempt = this.current;
    this.heldPool = null;
    if (pool !== null && attempt !== null) attempt.handle = pool.request(this.req, attempt);
  }

  /** The downstream body has ended: its trailers (if any) go upstream after it (HTTP/2 pools). */
  private onBodyEnd(): void {
    const trailers = this.stream.requestTrailers;
    if (trailers !== null && trailers.length > 0) this.req.trailers = trailers;
    this.onRequestComplete();
  }

  /** Envoy arms the route timeout (and the first per-try timeout) when the request has been read. */
  private onRequestComplete(): void {
    if (this.done || this.requestComplete) return;
    this.requestComplete = true;
    this.requestCompleteAt = Date.now();
    const ms = this.timeoutMs;
    if (ms > 0) this.globalTimer = setTimeout(() => this.onGlobalTimeout(), ms);
    if (this.current !== null && this.perTryTimer === null) this.armPerTry();
  }

  private armPerTry(): void {
    const ms = this.perTryTimeoutMs;
    if (ms > 0) this.perTryTimer = setTimeout(() => this.onPerTryTimeout(), ms);
  }

  private startTry(): void {
    this.backoffTimer = null;
    if (this.done) return;
    const cluster = this.cluster;
    const host = beginUpstream(this.stream, cluster, this.action, this.req, this.internal, this.retry);
    if (host === null) {
      this.finish();
      this.stream.sendLocalReply(503, NO_HEALTHY_UPSTREAM, "no_healthy_upstream");
      return;
    }
    if (this.retry !== null && this.retry.attempts > 0) this.refreshExpectedTimeout();
    this.attemptCount++;
    if (this.vhost.includeRequestAttemptCount) {
      setHeader(this.req.headers, "x-envoy-attempt-count", String(this.attemptCount));
    }
    const attempt = new Attempt(this);
    this.current = attempt;
    this.currentHost = host;
    // upstream_rq_total/_active are the pool's: counted once the try is on a connection.
    this.tryStart = Date.now();
    if (this.requestComplete) this.armPerTry();
    const pool = cluster.pool(host);
    this.upstreamHttp1 = pool.protocol === "http1";
    if (this.coalescing) this.heldPool = pool;
    else attempt.handle = pool.request(this.req, attempt);
  }

  /** A retry's `x-envoy-expected-rq-timeout-ms`: what is left of the route timeout, or the per-try timeout. */
  private refreshExpectedTimeout(): void {
    const left = this.timeoutMs > 0 ? Math.max(1, this.timeoutMs - (Date.now() - this.requestCompleteAt)) : 0;
    const ms = expectedTimeout(left, this.perTryTimeoutMs);
    const headers = this.req.headers;
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i] === "x-envoy-expected-rq-timeout-ms") headers[i + 1] = String(ms);
    }
  }

  /** The current try is over (its pool callbacks are ignored from now on); abort it if asked. */
  private endTry(abort: boolean): void {
    const a = this.current;
    if (a === null) return;
    this.current = null;
    a.active = false;
    if (this.perTryTimer !== null) {
      clearTimeout(this.perTryTimer);
      this.perTryTimer = null;
    }
    if (abort) a.handle?.abort();
  }

  onHeaders(_a: Attempt, status: number, headers: RawHeaders): void {
    const stats = this.cluster.stats;
    if (this.currentHost !== null) this.cluster.outlierDetector?.putResponse(this.currentHost, status);
    const retry = this.retry;
    this.releaseRetry();
    if (retry?.wouldRetryResponse(status, headers)) {
      if (this.takeRetry(retry)) {
        // The retried response is discarded, and its connection with it; it counts only as `retry.`.
        stats.countRetriedResponse(status);
        if (this.currentHost !== null) countRetriedHead(this.currentHost.stats, status);
        this.endTry(true);
        this.scheduleRetry();
        return;
      }
    } else if (retry !== null && retry.attempts > 0) {
      stats.upstream_rq_retry_success.value++;
    }
    stats.countResponse(status, this.internal);
    if (this.perTryTimer !== null) {
      clearTimeout(this.perTryTimer);
      this.perTryTimer = null;
    }
    // Names lower-cased as Envoy's codecs leave them; `x-envoy-upstream-service-time` is set (an
    // upstream's own, e.g. a sidecar's, gets this hop's value in its place), `server` is the stream's.
    const out: RawHeaders = [];
    let contentLength = false;
    let serviceTime = -1;
    for (let i = 0; i < headers.length; i += 2) {
      const name = (headers[i] as string).toLowerCase();
      if (name.length === 14 && name === "content-length") contentLength = true;
      else if (name.length === 29 && name === "x-envoy-upstream-service-time") serviceTime = out.length;
      out.push(name, headers[i + 1] as string);
    }
    const ms = String(Date.now() - this.tryStart);
    if (serviceTime < 0) out.push("x-envoy-upstream-service-time", ms);
    else out[serviceTime + 1] = ms;
    if (this.vhost.includeAttemptCountInResponse) {
      out.push("x-envoy-attempt-count", String(this.attemptCount));
    }
    this.stream.responseCodeDetails = "via_upstream";
    // An HTTP/1.1 body framed by content-length has no trailers (they need chunked encoding).
    this.stream.sendHeaders(status, out, false, !(this.upstreamHttp1 && contentLength));
  }

  onData(a: Attempt, chunk: Buffer): void {
    if (this.stream.write(chunk) || this.waitingDrain) return;
    this.waitingDrain = true;
    a.handle?.pause();
    this.stream.onceDrain(() => {
      this.waitingDrain = false;
      if (this.current === a) a.handle?.resume();
    });
  }

  onComplete(_a: Attempt, trailers: RawHeaders | null): void {
    this.endTry(false);
    this.finish();
    // Envoy's HTTP/1 codec drops an upstream's trailers (`enable_trailers` is off by default).
    this.stream.end(this.upstreamHttp1 ? null : trailers);
  }

  onError(_a: Attempt, reason: ResetReason, detail: string): void {
    this.endTry(false);
    const failure = localOriginFailureOf(reason);
    if (failure !== null && this.currentHost !== null)
      this.cluster.outlierDetector?.putLocalOriginFailure(this.currentHost, failure);
    const stream = this.stream;
    const dialect = this.ctx.dialect;
    if (stream.headersSent) {
      stream.addFlag(resetFlag(reason));
      stream.responseCodeDetails = resetDetails(reason, true, dialect, detail);
      // No rq_reset_after_downstream_response_started: Envoy's router counts it only for a gRPC
      // response whose success it deferred (chargeUpstreamAbort), which we never do.
      this.finish();
      stream.resetStream();
      return;
    }
    const retry = this.retry;
    this.releaseRetry();
    if (retry?.wouldRetryReset(reason, detail) && this.takeRetry(retry)) {
      this.scheduleRetry();
      return;
    }
    stream.addFlag(resetFlag(reason));
    this.finish();
    const retried = retry !== null && retry.attempts > 0;
    const status = upstreamResetStatus(reason);
    // Envoy's chargeUpstreamAbort: the local reply counts as the cluster's response.
    this.cluster.stats.countResponse(status, this.internal);
    stream.sendLocalReply(
      status,
      upstreamResetBody(reason, retried, dialect),
      resetDetails(reason, false, dialect, detail),
      this.localReplyHeaders(reason === "overflow"),
    );
  }

  /**
   * Envoy's `shouldRetry` once `retry_on` wants a retry: within `num_retries` (else
   * `upstream_rq_retry_limit_exceeded`, flag URX), then within the cluster's `max_retries` (else
   * `upstream_rq_retry_overflow`, flag UO). The retry taken is held until this request's next retry
   * decision or its end.
   */
  private takeRetry(retry: RetryState): boolean {
    const stats = this.cluster.stats;
    if (retry.remaining <= 0) {
      stats.upstream_rq_retry_limit_exceeded.value++;
      this.stream.addFlag("URX");
      return false;
    }
    const retries = this.cluster.resources.retries;
    if (!retries.canCreate()) {
      stats.upstream_rq_retry_overflow.value++;
      this.stream.addFlag("UO");
      return false;
    }
    retry.take();
    retries.inc();
    this.holdsRetry = true;
    return true;
  }

  /** Envoy's `resetRetry`: the retry this request held (scheduled or in flight) no longer counts. */
  private releaseRetry(): void {
    if (!this.holdsRetry) return;
    this.holdsRetry = false;
    this.cluster.resources.retries.dec();
  }

  private scheduleRetry(): void {
    this.cluster.stats.upstream_rq_retry.value++;
    this.cluster.stats.upstream_rq_retry_backoff_exponential.value++;
    const ms = (this.retry as RetryState).backoffMs();
    this.backoffTimer = setTimeout(() => this.startTry(), ms);
  }

  private onGlobalTimeout(): void {
    this.globalTimer = null;
    if (this.done) return;
    const stream = this.stream;
    // Envoy's onResponseTimeout charges the tries in flight (none while a retry waits its back-off):
    // upstream_rq_timeout, the host's rq_timeout, and a 504 of the cluster for a try awaiting headers.
    if (this.current !== null) {
      this.cluster.stats.upstream_rq_timeout.value++;
      this.chargeTimedOutTry(!stream.headersSent);
    }
    this.endTry(true);
    this.finish();
    stream.addFlag("UT");
    if (stream.headersSent) {
      stream.responseCodeDetails = "response_timeout";
      stream.resetStream();
    } else {
      stream.sendLocalReply(504, UPSTREAM_TIMEOUT, "response_timeout", this.localReplyHeaders(false));
    }
  }

  private onPerTryTimeout(): void {
    this.perTryTimer = null;
    if (this.done) return;
    this.cluster.stats.upstream_rq_per_try_timeout.value++;
    const host = this.currentHost;
    if (host !== null) host.stats.rq_timeout++;
    if (host !== null) this.cluster.outlierDetector?.putLocalOriginFailure(host, "timeout");
    this.endTry(true);
    const retry = this.retry;
    this.releaseRetry();
    if (retry?.wouldRetryTimeout() && this.takeRetry(retry)) {
      if (host !== null) host.stats.rq_error++;
      this.scheduleRetry();
      return;
    }
    this.cluster.stats.countResponse(504, this.internal);
    if (host !== null) host.stats.rq_error++;
    this.finish();
    this.stream.addFlag("UT");
    const headers = this.localReplyHeaders(false);
    this.stream.sendLocalReply(504, UPSTREAM_TIMEOUT, "upstream_per_try_timeout", headers);
  }

  /** The downstream went away: release the upstream now. */
  private onDownstreamAbort(): void {
    if (this.done) return;
    this.endTry(true);
    this.finish();
  }

  /**
   * The route timeout hit the current try: the host's `rq_timeout`, and when it still awaited its
   * response head, a 504 of the cluster and the host's `rq_error` (Envoy's chargeUpstreamAbort).
   */
  private chargeTimedOutTry(awaitingHeaders: boolean): void {
    const host = this.currentHost;
    if (host !== null) host.stats.rq_timeout++;
    if (!awaitingHeaders) return;
    if (host !== null) this.cluster.outlierDetector?.putLocalOriginFailure(host, "timeout");
    this.cluster.stats.countResponse(504, this.internal);
    if (host !== null) host.stats.rq_error++;
  }

  /**
   * The headers of a local reply after a try (Envoy's onUpstreamAbort): `x-envoy-overloaded` for a
   * circuit breaker's overflow, `x-envoy-attempt-count` when the virtual host asks for it.
   */
  private localReplyHeaders(overloaded: boolean): RawHeaders | undefined {
    const count = this.vhost.includeAttemptCountInResponse;
    if (!overloaded && !count) return undefined;
    const out: RawHeaders = overloaded ? ["x-envoy-overloaded", "true"] : [];
    if (count) out.push("x-envoy-attempt-count", String(this.attemptCount));
    return out;
  }

  /** No more tries: stop every timer. */
  private finish(): void {
    this.done = true;
    this.releaseRetry();
    if (this.globalTimer !== null) clearTimeout(this.globalTimer);
    if (this.perTryTimer !== null) clearTimeout(this.perTryTimer);
    if (this.backoffTimer !== null) clearTimeout(this.backoffTimer);
    this.globalTimer = this.perTryTimer = this.backoffTimer = null;
    this.stream.onAbort = null;
  }
}

/**
 * Read `body` into one Buffer: for retries, or (`thisIteration`) what arrives within this loop
 * iteration. Past `limit` bytes, or when the iteration ends first, the bytes read so far are put back
 * into the stream (which is left paused) and `done(null)` is called: the body is then streamed.
 */
function bufferBody(
  body: Readable,
  limit: number,
  thisIteration: boolean,
  done: (buffered: Buffer | null) => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let immediate: NodeJS.Immediate | null = null;
  const giveBack = (): void => {
    body.pause();
    cleanup();
    if (!body.destroyed) for (let i = chunks.length - 1; i >= 0; i--) body.unshift(chunks[i]);
    done(null);
  };
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit) giveBack();
  };
  const onEnd = (): void => {
    cleanup();
    done(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
  };
  const cleanup = (): void => {
    if (immediate !== null) clearImmediate(immediate);
    immediate = null;
    body.removeListener("data", onData);
    body.removeListener("end", onEnd);
  };
  body.on("data", onData);
  body.on("end", onEnd);
  if (thisIteration) immediate = setImmediate(giveBack);
}

/** Envoy's `isEnvoyInternalRequest`: the (mutated) request headers say `x-envoy-internal: true`. */
export function isEnvoyInternal(headers: RawHeaders): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name.length === 16 && name.toLowerCase() === "x-envoy-internal") return headers[i + 1] === "true";
  }
  return false;
}
