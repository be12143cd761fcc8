/**
 * Streams on an h2c session of an Http2Pool: one request (H2Request: headers, body with backpressure,
 * trailers both ways, resets mapped to Envoy's reasons) and an RFC 8441 extended CONNECT tunnel.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from "node:http2";
import { Readable } from "node:stream";
import { ignoreErrorHandledOnClose, ignoreErrorUntilHandedOver } from "../../lib/errors.js";
import { addH2Headers, h2RequestHeaders, h2Trailers, rawFromH2, rawFromH2Object } from "../api/h2_headers.js";
import {
  type RawHeaders,
  type ResetReason,
  TunnelError,
  type TunnelResult,
  type UpstreamRequest,
  type UpstreamRequestHandle,
  type UpstreamResponseHandler,
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

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** One request as an HTTP/2 stream. */
export class H2Request implements UpstreamRequestHandle, Waiter, PoolAccounted {
  readonly limited = true;
  poolState: PoolState = "new";
  private session: Session | null = null;
  private stream: ClientHttp2Stream | null = null;
  private trailers: RawHeaders | null = null;
  private finished = false;
  private localCancel = false;
  /** A response head arrived (the per-host outcome is counted). */
  private started = false;

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
    const streamBody = body instanceof Readable;
    const hasTrailers = req.trailers !== undefined && req.trailers.length > 0;
    let stream: ClientHttp2Stream;
    try {
      stream = (s.h2 as ClientHttp2Session).request(h2RequestHeaders(req), {
        endStream: body === null && !hasTrailers,
        waitForTrailers: streamBody || hasTrailers,
      });
    } catch (e) {
      // Invalid headers: reported asynchronously, never from inside request().
      this.pool.releaseStream(s, true);
      process.nextTick(() => this.fail("protocol error", (e as Error).message));
      return;
    }
    enterActive(this);
    this.stream = stream;
    stream.on("response", (headers: http2.IncomingHttpHeaders, _flags: number, raw: string[]) => {
      if (this.finished) return;
      const status = Number(headers[":status"]);
      this.started = true;
      countResponseHead(this.host.stats, status);
      this.handler.onHeaders(status, rawFromH2(raw));
    });
    stream.on("trailers", (headers) => {
      this.trailers = rawFromH2Object(headers);
    });
    stream.on("data", (chunk: Buffer) => {
      if (!this.finished) this.handler.onData(chunk);
    });
    // node:http2 also ends the readable side of a stream closed abnormally (session gone, RST):
    // only an end without an error code is a complete response; 'close' reports the rest.
    stream.on("end", () => {
      const code = stream.rstCode;
      if (code === undefined || code === NGHTTP2_NO_ERROR) this.complete();
    });
    stream.on("error", ignoreErrorHandledOnClose);
    stream.on("close", () => this.onClose(stream, s));
    stream.on("wantTrailers", () => {
      stream.sendTrailers(h2Trailers(req.trailers));
    });
    if (body === null) {
      if (hasTrailers) stream.end();
    } else if (streamBody) {
      body.on("error", () => this.cancel());
      body.pipe(stream);
    } else {
      stream.end(body);
    }
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
    if (this.stream !== null && !this.stream.closed) this.stream.close(NGHTTP2_CANCEL);
  }

  pause(): void {
    this.stream?.pause();
  }

  resume(): void {
    this.stream?.resume();
  }

  private cancel(): void {
    this.localCancel = true;
    if (this.stream !== null && !this.stream.closed) this.stream.close(NGHTTP2_CANCEL);
  }

  private complete(): void {
    if (this.finished) return;
    this.finished = true;
    leavePool(this);
    this.handler.onComplete(this.trailers);
  }

  private onClose(stream: ClientHttp2Stream, s: Session): void {
    this.pool.releaseStream(s, true);
    if (this.finished) return;
    let reason: ResetReason;
    if (this.localCancel) reason = "local reset";
    else if (stream.rstCode === NGHTTP2_REFUSED_STREAM) reason = "remote reset";
    else if (s.dead || s.h2 === null || s.h2.destroyed) reason = "connection termination";
    else reason = "remote reset";
    // As Envoy's multiplexed pool counts a stream reset (MultiplexedActiveClientBase::onStreamReset):
    // the connection went away -> pending_failure_eject; ours -> tx_reset; the peer's RST_STREAM ->
    // rx_reset, except REFUSED_STREAM (not counted).
    const stats = this.pool.stats;
    if (reason === "connection termination") stats.upstream_rq_pending_failure_eject.value++;
    else if (reason === "local reset") stats.upstream_rq_tx_reset.value++;
    else if (stream.rstCode !== NGHTTP2_REFUSED_STREAM) stats.upstream_rq_rx_reset.value++;
    this.fail(reason, `stream closed with error code ${stream.rstCode ?? 0}`);
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

/** RFC 8441: `CONNECT` with `:protocol`; 200 means upgraded (reported as 101). */
export function extendedConnect(
  pool: Http2Pool,
  s: Session,
  req: UpstreamRequest,
  upgradeType: string,
): Promise<TunnelResult> {
  return new Promise((resolve, reject) => {
    const raw: RawHeaders = [];
    for (let i = 0; i < req.headers.length; i += 2) {
      if ((req.headers[i] as string).toLowerCase() !== "content-length") {
        raw.push(req.headers[i] as string, req.headers[i + 1] as string);
      }
    }
    const headers = addH2Headers(
      {
        ":method": "CONNECT",
        ":protocol": upgradeType,
        ":path": req.path,
        ":authority": req.authority,
        ":scheme": "http",
      },
      raw,
    );
    let stream: ClientHttp2Stream;
    try {
      stream = (s.h2 as ClientHttp2Session).request(headers);
    } catch (e) {
      pool.releaseStream(s, false);
      reject(new TunnelError("protocol error", (e as Error).message));
      return;
    }
    let settled = false;
    // Before the response the 'close' below rejects; after it the stream is the caller's.
    stream.on("error", ignoreErrorUntilHandedOver);
    stream.on("close", () => {
      pool.releaseStream(s, false);
      if (settled) return;
      settled = true;
      const reason = s.dead || s.h2?.destroyed ? "connection termination" : "remote reset";
      reject(new TunnelError(reason, `stream closed with error code ${stream.rstCode ?? 0}`));
    });
    stream.on("response", (h: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
      settled = true;
      const status = Number(h[":status"]);
      const headersOut = rawFromH2(rawHeaders);
      if (status === 200) {
        resolve({ upgraded: true, status: 101, headers: headersOut, stream, head: Buffer.alloc(0) });
      } else {
        resolve({ upgraded: false, status, headers: headersOut, body: stream });
      }
    });
  });
}
