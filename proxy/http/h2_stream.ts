import http2, { type OutgoingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from "node:http2";
import { type Duplex, Readable } from "node:stream";
import { ignoreErrorHandledOnClose } from "../../lib/errors.js";
import { addH2Headers, h2Trailers } from "../api/h2_headers.js";
import type { RawHeaders } from "../api/headers.js";
import type { Http2CodecStats } from "./h2_codec_stats.js";
import type { HcmStats } from "./stats.js";
import { DownstreamStream, type StreamContext, type WatchedSocket } from "./stream.js";

const { NGHTTP2_INTERNAL_ERROR } = http2.constants;

/**
 * Envoy's premature-reset accounting (`ConnectionManagerImpl::maybeDrainDueToPrematureResets`, the
 * runtime keys `overload.premature_reset_total_stream_count` and
 * `overload.premature_reset_min_stream_lifetime_seconds`, defaults 500 and 1): a stream is a
 * premature reset when it ends without a response head within its first whole seconds; a
 * connection is closed once such streams are at least half of max(500, its streams so far).
 * Measured on Envoy 1.40: 250 HEADERS+RST_STREAM close the connection, 249 do not.
 */
const PREMATURE_RESET_TOTAL_STREAM_COUNT = 500;
const PREMATURE_RESET_MIN_STREAM_LIFETIME_S = 1;

/**
 * What one downstream HTTP/2 connection counts across its streams: premature resets (rapid reset)
 * and the frames queued for a client that does not read (`max_outbound_frames`). Either closes
 * the connection at once, without a GOAWAY (Envoy's `Abort`).
 */
export class H2Connection {
  /** Streams begun (`max_requests_per_connection`). */
  requests = 0;
  /** Streams over. */
  private streams = 0;
  private prematureResets = 0;
  /** Response heads queued. */
  private heads = 0;
  /** Closed by us for a flood or for premature resets. */
  aborted = false;

  constructor(
    private readonly session: ServerHttp2Session,
    private readonly stats: HcmStats,
    private readonly codecStats: Http2CodecStats,
    private readonly maxOutboundFrames: number,
  ) {}

  /** A stream is over; `premature`: reset by the client before any response, early in its life. */
  streamClosed(premature: boolean): void {
    this.streams++;
    if (!premature) return;
    this.prematureResets++;
    if (this.prematureResets * 2 < Math.max(PREMATURE_RESET_TOTAL_STREAM_COUNT, this.streams)) return;
    if (this.aborted || this.session.destroyed) return;
    // Envoy 1.40 counts the close as a protocol error too (measured).
    this.stats.downstream_rq_too_many_premature_resets.value++;
    this.stats.downstream_cx_protocol_error.value++;
    this.abort();
  }

  /**
   * A response head was queued: nghttp2's queue of frames not yet written (the socket's writes are
   * blocked by a client that does not read) past `max_outbound_frames` closes the connection.
   * node stops reading a connection whose writes are blocked, so only responses to streams already
   * read can pile up here. Looked at every 8th response head (`session.state` builds an object).
   */
  checkOutbound(): void {
    if ((++this.heads & 7) !== 0 || this.aborted || this.session.destroyed) return;
    if ((this.session.state.outboundQueueSize ?? 0) <= this.maxOutboundFrames) return;
    this.codecStats.outbound_flood.value++;
    this.abort();
  }

  /**
   * Close now, without a GOAWAY and without flushing (Envoy's `Abort`): node's session.destroy()
   * alone ends the socket only once its writes are flushed, never for a client that does not read.
   */
  private abort(): void {
    this.aborted = true;
    // Bound to the socket itself (the session's socket proxy refuses destroy()).
    const reset = this.session.socket?.resetAndDestroy;
    this.session.destroy();
    reset?.();
  }
}

/** A request on an HTTP/2 (h2c) stream. */
export class H2Stream extends DownstreamStream {
  private trailers: RawHeaders | null = null;

  constructor(
    readonly stream: ServerHttp2Stream,
    ctx: StreamContext,
    /** Its connection's accounting until the stream is over; null when not watched (unit tests). */
    private h2Connection: H2Connection | null = null,
  ) {
    super("HTTP/2", ctx);
    this.attachConnection(stream.session?.socket as WatchedSocket | undefined);
    stream.on("error", ignoreErrorHandledOnClose);
    stream.on("close", () => this.closed());
  }

  protected override closed(): void {
    super.closed();
    const connection = this.h2Connection;
    if (connection === null) return;
    this.h2Connection = null;
    // Envoy's isPrematureRstStream: no response code, and alive for at most the minimum lifetime
    // (compared in whole seconds, as Envoy does).
    connection.streamClosed(
      !this.headersSent &&
        Math.floor((Date.now() - this.startTime) / 1000) <= PREMATURE_RESET_MIN_STREAM_LIFETIME_S,
    );
  }

  /** The client's END_STREAM has arrived (the body may still be unread). */
  protected override requestEndReceived(): boolean {
    return this.stream.state.remoteClose === 1;
  }

  protected get scheme(): string {
    return "http";
  }

  onceDrain(cb: () => void): void {
    this.stream.once("drain", cb);
  }

  /** RFC 8441: the extended CONNECT succeeded (`:status 200`); the stream becomes the tunnel. */
  acceptUpgrade(headers: RawHeaders): Duplex {
    // The tunnel has its own idle timeout.
    this.stopTimers();
    this.sendHeaders(200, headers, false);
    // As on HTTP/1.1: the exchange is over as far as HTTP goes, so the tunnel's close is no reset.
    this.ended = true;
    return this.stream;
  }

  protected writeHead(
    status: number,
    headers: RawHeaders,
    endStream: boolean,
    trailersPossible: boolean,
  ): void {
    const stream = this.stream;
    if (stream.destroyed || stream.headersSent) return;
    const out: OutgoingHttpHeaders = addH2Headers({ ":status": status }, headers);
    if (endStream || !trailersPossible) {
      stream.respond(out, { endStream });
      this.h2Connection?.checkOutbound();
      return;
    }
    stream.respond(out, { waitForTrailers: true });
    this.h2Connection?.checkOutbound();
    stream.once("wantTrailers", () => {
      // Empty trailers are sent by node as an empty DATA frame with END_STREAM.
      stream.sendTrailers(this.trailers === null ? {} : h2Trailers(this.trailers));
    });
  }

  protected writeBody(chunk: Buffer): boolean {
    if (this.stream.destroyed) return true;
    return this.stream.write(chunk);
  }

  protected endBody(trailers: RawHeaders | null): void {
    this.trailers = trailers;
    if (!this.stream.destroyed) this.stream.end();
  }

  protected endWith(body: string): void {
    if (!this.stream.destroyed) this.stream.end(body);
  }

  protected destroyStream(): void {
    if (!this.stream.destroyed) this.stream.close(NGHTTP2_INTERNAL_ERROR);
  }
}

/**
 * The request body of an HTTP/2 stream as a separate Readable: pools destroy the body they were
 * given once sent (undici does), and destroying an Http2Stream would reset the whole exchange.
 * Destroying the wrapper early drains and discards the rest of the upload instead.
 */
export function guardedBody(src: Readable): Readable {
  src.pause();
  const out = new Readable({
    read() {
      src.resume();
    },
    destroy(err, cb) {
      src.removeListener("data", onData);
      if (!src.readableEnded) src.resume();
      cb(err);
    },
  });
  const onData = (chunk: Buffer): void => {
    if (!out.push(chunk)) src.pause();
  };
  src.on("data", onData);
  src.once("end", () => out.push(null));
  return out;
}
