/**
 * The router filter's forwarding of one request (Envoy's `Router::Filter` + `UpstreamRequest`):
 * tries (a new host each), the route timeout armed at the end of the downstream request, per-try
 * timeouts, retries with jittered back-off, the response streamed back with backpressure, and the
 * local replies and resets of every failure.
 */
import type { Readable } from "node:stream";
import type { ForwardAction, RetryPolicy, RouteMatch } from "../config/model.js";
import type {
  RawHeaders,
  ResetReason,
  UpstreamRequest,
  UpstreamRequestHandle,
  UpstreamResponseHandler,
} from "../conn_pool/types.js";
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
import { RetryState } from "./retry.js";
import { autoHostAuthority, buildUpstreamRequest, expectedTimeout } from "./upstream_request.js";

export interface ForwardContext {
  readonly hcmStats: HcmStats;
  /** Uniform in [0, 1). */
  readonly random: () => number;
  /** Largest request body buffered for retries (Envoy's per-connection buffer limit, 1 MiB). */
  readonly retryBufferLimit: number;
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
  private tryStart = 0;
  private globalTimer: NodeJS.Timeout | null = null;
  private perTryTimer: NodeJS.Timeout | null = null;
  private backoffTimer: NodeJS.Timeout | null = null;
  private requestComplete = false;
  /** The current try's pool speaks HTTP/1.1 (whose responses carry trailers only when chunked). */
  private upstreamHttp1 = false;
  private waitingDrain = false;
  private done = false;

  constructor(
    private readonly ctx: ForwardContext,
    private readonly stream: DownstreamStream,
    private readonly cluster: Cluster,
    private readonly action: ForwardAction,
    match: RouteMatch,
    retryPolicy: RetryPolicy | null,
  ) {
    this.retry =
      retryPolicy !== null && retryPolicy.numRetries > 0 ? new RetryState(retryPolicy, ctx.random) : null;
    const perTry = retryPolicy?.perTryTimeoutMs ?? 0;
    this.req = buildUpstreamRequest(stream, action, match, expectedTimeout(action.timeoutMs, perTry));
  }

  start(): void {
    const stream = this.stream;
    stream.onAbort = () => this.onDownstreamAbort();
    const body = stream.body;
    if (body === null) {
      this.onRequestComplete();
      this.startTry();
    } else if (this.retry !== null) {
      bufferBody(body, this.ctx.retryBufferLimit, (buffered) => {
        if (this.done) return;
        if (buffered === null) {
          // Over the buffer limit: no retries (Envoy's retry_or_shadow_abandoned); stream the body.
          this.cluster.stats.retry_or_shadow_abandoned.value++;
          this.retry = null;
          this.req.body = body;
          body.once("end", () => this.onBodyEnd());
        } else {
          this.req.body = buffered;
          this.onBodyEnd();
        }
        this.startTry();
      });
    } else {
      this.req.body = body;
      body.once("end", () => this.onBodyEnd());
      this.startTry();
    }
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
    const ms = this.action.timeoutMs;
    if (ms > 0) this.globalTimer = setTimeout(() => this.onGlobalTimeout(), ms);
    if (this.current !== null && this.perTryTimer === null) this.armPerTry();
  }

  private armPerTry(): void {
    const ms = this.retry?.perTryTimeoutMs ?? 0;
    if (ms > 0) this.perTryTimer = setTimeout(() => this.onPerTryTimeout(), ms);
  }

  private startTry(): void {
    this.backoffTimer = null;
    if (this.done) return;
    const cluster = this.cluster;
    const host = cluster.chooseHost();
    if (host === null) {
      this.stream.addFlag("UH");
      this.finish();
      this.stream.sendLocalReply(503, NO_HEALTHY_UPSTREAM, "no_healthy_upstream");
      return;
    }
    this.stream.upstreamHost = host.key;
    if (this.action.autoHostRewrite)
      this.req.authority = autoHostAuthority(cluster, host, this.stream.authority);
    const attempt = new Attempt(this);
    this.current = attempt;
    cluster.stats.upstream_rq_total.value++;
    cluster.stats.upstream_rq_active.value++;
    this.tryStart = Date.now();
    if (this.requestComplete) this.armPerTry();
    const pool = cluster.pool(host);
    this.upstreamHttp1 = pool.protocol === "http1";
    attempt.handle = pool.request(this.req, attempt);
  }

  /** The current try is over (its pool callbacks are ignored from now on); abort it if asked. */
  private endTry(abort: boolean): void {
    const a = this.current;
    if (a === null) return;
    this.current = null;
    a.active = false;
    this.cluster.stats.upstream_rq_active.value--;
    if (this.perTryTimer !== null) {
      clearTimeout(this.perTryTimer);
      this.perTryTimer = null;
    }
    if (abort) a.handle?.abort();
  }

  onHeaders(_a: Attempt, status: number, headers: RawHeaders): void {
    this.cluster.stats.countResponse(status);
    const retry = this.retry;
    if (retry?.wouldRetryStatus(status)) {
      if (retry.take()) {
        // The retried response is discarded, and its connection with it.
        this.endTry(true);
        this.scheduleRetry();
        return;
      }
      this.stream.addFlag("URX");
    }
    if (this.perTryTimer !== null) {
      clearTimeout(this.perTryTimer);
      this.perTryTimer = null;
    }
    const out: RawHeaders = [];
    let contentLength = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      if (name.length === 6 && name.toLowerCase() === "server") continue;
      if (name.length === 14 && name.toLowerCase() === "content-length") contentLength = true;
      out.push(name, headers[i + 1] as string);
    }
    out.push("x-envoy-upstream-service-time", String(Date.now() - this.tryStart));
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
    this.cluster.stats.upstream_rq_completed.value++;
    this.endTry(false);
    this.finish();
    this.stream.end(trailers);
  }

  onError(_a: Attempt, reason: ResetReason, _detail: string): void {
    this.endTry(false);
    const stream = this.stream;
    if (stream.headersSent) {
      stream.addFlag(resetFlag(reason));
      stream.responseCodeDetails = resetDetails(reason, true);
      this.ctx.hcmStats.rq_reset_after_downstream_response_started.value++;
      this.finish();
      stream.resetStream();
      return;
    }
    const retry = this.retry;
    if (retry?.wouldRetryReset(reason)) {
      if (retry.take()) {
        this.scheduleRetry();
        return;
      }
      stream.addFlag("URX");
    }
    stream.addFlag(resetFlag(reason));
    this.finish();
    const retried = retry !== null && retry.attempts > 0;
    stream.sendLocalReply(
      upstreamResetStatus(reason),
      upstreamResetBody(reason, retried),
      resetDetails(reason, false),
    );
  }

  private scheduleRetry(): void {
    this.cluster.stats.upstream_rq_retry.value++;
    const ms = (this.retry as RetryState).backoffMs();
    this.backoffTimer = setTimeout(() => this.startTry(), ms);
  }

  private onGlobalTimeout(): void {
    this.globalTimer = null;
    if (this.done) return;
    this.cluster.stats.upstream_rq_timeout.value++;
    this.endTry(true);
    this.finish();
    const stream = this.stream;
    stream.addFlag("UT");
    if (stream.headersSent) {
      stream.responseCodeDetails = "response_timeout";
      stream.resetStream();
    } else {
      stream.sendLocalReply(504, UPSTREAM_TIMEOUT, "response_timeout");
    }
  }

  private onPerTryTimeout(): void {
    this.perTryTimer = null;
    if (this.done) return;
    this.cluster.stats.upstream_rq_per_try_timeout.value++;
    this.endTry(true);
    const retry = this.retry;
    if (retry?.wouldRetryTimeout()) {
      if (retry.take()) {
        this.scheduleRetry();
        return;
      }
      this.stream.addFlag("URX");
    }
    this.finish();
    this.stream.addFlag("UT");
    this.stream.sendLocalReply(504, UPSTREAM_TIMEOUT, "upstream_per_try_timeout");
  }

  /** The downstream went away: release the upstream now. */
  private onDownstreamAbort(): void {
    if (this.done) return;
    this.endTry(true);
    this.finish();
  }

  /** No more tries: stop every timer. */
  private finish(): void {
    this.done = true;
    if (this.globalTimer !== null) clearTimeout(this.globalTimer);
    if (this.perTryTimer !== null) clearTimeout(this.perTryTimer);
    if (this.backoffTimer !== null) clearTimeout(this.backoffTimer);
    this.globalTimer = this.perTryTimer = this.backoffTimer = null;
    this.stream.onAbort = null;
  }
}

/**
 * Read `body` into one Buffer for retries. Past `limit` bytes, the bytes read so far are put back
 * into the stream (which is left paused) and `done(null)` is called: the body is then streamed.
 */
function bufferBody(body: Readable, limit: number, done: (buffered: Buffer | null) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    size += chunk.length;
    if (size <= limit) return;
    body.pause();
    cleanup();
    for (let i = chunks.length - 1; i >= 0; i--) body.unshift(chunks[i]);
    done(null);
  };
  const onEnd = (): void => {
    cleanup();
    done(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
  };
  const cleanup = (): void => {
    body.removeListener("data", onData);
    body.removeListener("end", onEnd);
  };
  body.on("data", onData);
  body.on("end", onEnd);
}
