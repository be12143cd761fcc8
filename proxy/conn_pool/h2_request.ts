/**
 * A request on an h2c session of an Http2Pool (H2Request): the head, the body with backpressure,
 * trailers both ways, resets mapped to Envoy's reasons. The extended CONNECT tunnel is h2_tunnel.ts.
 */
import { Readable } from "node:stream";
import type { Http2Connection } from "../../lib/http2/connection.js";
import { ErrorCode } from "../../lib/http2/frames.js";
import type { Fields, Http2Stream } from "../../lib/http2/stream.js";
import { h2RequestFields, h2TrailerFields, rawFromH2Response } from "../api/h2_headers.js";
import type {
  RawHeaders,
  ResetReason,
  UpstreamRequest,
  UpstreamRequestHandle,
  UpstreamResponseHandler,
} from "../api/upstream.js";
import type { ClusterStats } from "../upstream/cluster_stats.js";
import type { Host } from "../upstream/host.js";
import type { Session, Waiter } from "./h2_session.js";
import {
  countFailureBeforeHead,
  countResponseHead,
  enterActive,
  enterPending,
  type HostStats,
  leavePool,
  type PoolAccounted,
  type PoolState,
} from "./host_stats.js";
import type { Http2Pool } from "./http2_pool.js";

/** One request as an HTTP/2 stream. */
export class H2Request implements UpstreamRequestHandle, Waiter, PoolAccounted {
  readonly limited = true;
  poolState: PoolState = "new";
  private session: Session | null = null;
  private stream: Http2Stream | null = null;
  private trailers: RawHeaders | null = null;
  private finished = false;
  private localCancel = false;
  /** A response head arrived (the per-host outcome is counted). */
  private started = false;
  /** The RST_STREAM code the stream was reset with (the peer's, or the connection's end); -1: none. */
  private resetCode = -1;

  constructor(
    private readonly pool: Http2Pool,
    private readonly req: UpstreamRequest,
    private readonly handler: UpstreamResponseHandler,
  ) {}

  get host(): Host {
    return this.pool.host;
  }

  get hostStats(): HostStats {
    return this.pool.host.stats;
  }

  get clusterStats(): ClusterStats {
    return this.pool.stats;
  }

  onPending(): void {
    enterPending(this);
  }

  onSession(s: Session): void {
    this.session = s;
    if (this.finished) {
      this.pool.releaseStream(s, true);
      return;
    }
    const { req } = this;
    const body = req.body;
    const hasTrailers = req.trailers !== undefined && req.trailers.length > 0;
    // A connection that cannot take it any more resets the stream with REFUSED_STREAM (next tick):
    // "remote reset", safe to retry.
    const stream = (s.conn as Http2Connection).request(h2RequestFields(req), body === null && !hasTrailers);
    enterActive(this);
    this.stream = stream;
    // Shared module-level callbacks (no closure per request) find this through `owner`.
    stream.owner = this;
    stream.onHeaders = onResponseHeaders;
    stream.onData = onResponseData;
    stream.onTrailers = onResponseTrailers;
    stream.onEnd = onResponseEnd;
    stream.onReset = onStreamReset;
    stream.onClose = onStreamClose;
    if (body === null) {
      if (hasTrailers) stream.end(h2TrailerFields(req.trailers));
    } else if (body instanceof Readable) {
      this.sendBody(body, stream);
    } else if (hasTrailers) {
      stream.write(body);
      stream.end(h2TrailerFields(req.trailers));
    } else {
      stream.write(body, true);
    }
  }

  /** A streamed body, with backpressure both ways; trailers (read at its end) after it. */
  private sendBody(body: Readable, stream: Http2Stream): void {
    body.on("data", (chunk: Buffer) => {
      if (!stream.write(chunk) && !stream.closed) body.pause();
    });
    stream.onDrain = () => body.resume();
    body.on("end", () => stream.end(h2TrailerFields(this.req.trailers)));
    body.on("error", () => this.cancel());
    // As pipe() does: a body handed over paused (the codec holds it until its reader comes) flows.
    body.resume();
  }

  /** Views into socket reads that are not reused: handed on without a copy. */
  responseData(chunk: Buffer): void {
    if (!this.finished) this.handler.onData(chunk);
  }

  /** Validated by the connection: lower-case, no pseudo-header, no connection-specific field. */
  responseTrailers(fields: Fields): void {
    this.trailers = fields;
  }

  /** The peer's RST_STREAM code (or ours), read when the stream closes. */
  streamReset(code: number): void {
    this.resetCode = code;
  }

  /** Each response head: an informational one (1xx) is not passed on; the handler sees the final one. */
  onHeaders(fields: Fields): void {
    if (this.finished) return;
    // Validated by the connection: `:status` first, three digits.
    const status = Number(fields[1]);
    if (status < 200) return;
    this.started = true;
    countResponseHead(this.host.stats, status);
    this.handler.onHeaders(status, rawFromH2Response(fields));
  }

  /** The session this request waited for failed (a waiting request is ejected: Envoy's purge). */
  onFail(reason: ResetReason, detail: string): void {
    if (!this.finished) leavePool(this, reason === "connection failure" || reason === "connection timeout");
    this.fail(reason, detail);
  }

  abort(): void {
    if (this.finished) return;
    this.finished = true;
    const onStream = this.poolState === "active";
    leavePool(this);
    if (this.session === null) {
      this.pool.unqueue(this);
      return;
    }
    if (onStream) this.pool.stats.upstream_rq_tx_reset.value++;
    if (this.stream !== null && !this.stream.closed) this.stream.reset(ErrorCode.CANCEL);
  }

  pause(): void {
    this.stream?.pause();
  }

  resume(): void {
    this.stream?.resume();
  }

  private cancel(): void {
    this.localCancel = true;
    if (this.stream !== null && !this.stream.closed) this.stream.reset(ErrorCode.CANCEL);
  }

  /** The peer ended its side: the response is complete (our side may still be sending). */
  complete(): void {
    if (this.finished) return;
    this.finished = true;
    leavePool(this);
    this.handler.onComplete(this.trailers);
  }

  /** The stream closed, after its response or not. */
  onClose(): void {
    const s = this.session as Session;
    this.pool.releaseStream(s, true);
    if (this.finished) return;
    const code = this.resetCode;
    const conn = s.conn as Http2Connection;
    let reason: ResetReason;
    if (this.localCancel) reason = "local reset";
    else if (code === ErrorCode.REFUSED_STREAM) reason = "remote reset";
    else if (conn.closed || conn.failed) reason = "connection termination";
    else reason = "remote reset";
    // As Envoy's multiplexed pool counts a stream reset (MultiplexedActiveClientBase::onStreamReset):
    // the connection went away -> pending_failure_eject; ours -> tx_reset; the peer's RST_STREAM ->
    // rx_reset, except REFUSED_STREAM (not counted).
    const stats = this.pool.stats;
    if (reason === "connection termination") stats.upstream_rq_pending_failure_eject.value++;
    else if (reason === "local reset") stats.upstream_rq_tx_reset.value++;
    else if (code !== ErrorCode.REFUSED_STREAM) stats.upstream_rq_rx_reset.value++;
    this.fail(reason, `stream closed with error code ${Math.max(code, 0)}`);
  }

  private fail(reason: ResetReason, detail: string): void {
    if (this.finished) return;
    this.finished = true;
    leavePool(this);
    // An overflow is the cluster's, not the host's: no host outcome (Envoy passes no host).
    if (!this.started && reason !== "overflow") countFailureBeforeHead(this.host.stats);
    this.handler.onError(reason, detail);
  }
}

// lib/http2 calls these with the stream as `this`; its owner is the H2Request.
function onResponseHeaders(this: Http2Stream, fields: Fields): void {
  (this.owner as H2Request).onHeaders(fields);
}
function onResponseData(this: Http2Stream, chunk: Buffer): void {
  (this.owner as H2Request).responseData(chunk);
}
function onResponseTrailers(this: Http2Stream, fields: Fields): void {
  (this.owner as H2Request).responseTrailers(fields);
}
function onResponseEnd(this: Http2Stream): void {
  (this.owner as H2Request).complete();
}
function onStreamReset(this: Http2Stream, code: number): void {
  (this.owner as H2Request).streamReset(code);
}
function onStreamClose(this: Http2Stream): void {
  (this.owner as H2Request).onClose();
}
