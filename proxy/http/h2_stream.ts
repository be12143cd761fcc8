/**
 * A downstream HTTP/2 request on our own HTTP/2 layer (lib/http2): H2Stream answers one stream,
 * H2Connection keeps what Envoy's connection manager counts across the streams of one connection.
 */
import { Duplex, Readable } from "node:stream";
import { ignoreErrorHandledOnClose } from "../../lib/errors.js";
import { H2_SINGLE_VALUE_HEADERS } from "../../lib/h2_single_value.js";
import type { Http2Connection } from "../../lib/http2/connection.js";
import { ErrorCode } from "../../lib/http2/frames.js";
import type { Fields, Http2Stream } from "../../lib/http2/stream.js";
import { HOP_BY_HOP, type RawHeaders } from "../api/headers.js";
import type { HcmStats } from "./stats.js";
import { DownstreamStream, type StreamContext, type WatchedSocket } from "./stream.js";

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
 * What one downstream HTTP/2 connection counts across its streams: requests begun
 * (`max_requests_per_connection`) and premature resets (rapid reset), which close the connection at
 * once, without a GOAWAY (Envoy's `Abort`). The flood limits are lib/http2's, checked per frame.
 */
export class H2Connection {
  /** Streams begun (`max_requests_per_connection`). */
  requests = 0;
  /** Streams over. */
  private streams = 0;
  private prematureResets = 0;
  /** Closed by us for premature resets. */
  aborted = false;
  /**
   * Streams read in the current socket read, routed once the read is parsed: a stream the client
   * resets in the same read (rapid reset) is counted but never reaches an upstream.
   */
  pending: H2Stream[] = [];

  /** The socket's close accounting (its DownstreamConnection). */
  readonly socket: WatchedSocket;

  constructor(
    readonly conn: Http2Connection,
    private readonly stats: HcmStats,
  ) {
    this.socket = conn.socket as WatchedSocket;
  }

  /** A stream is over; `premature`: reset by the client before any response, early in its life. */
  streamClosed(premature: boolean): void {
    this.streams++;
    if (!premature) return;
    this.prematureResets++;
    if (this.prematureResets * 2 < Math.max(PREMATURE_RESET_TOTAL_STREAM_COUNT, this.streams)) return;
    if (this.aborted || this.conn.closed) return;
    // Envoy 1.40 counts the close as a protocol error too (measured).
    this.stats.downstream_rq_too_many_premature_resets.value++;
    this.stats.downstream_cx_protocol_error.value++;
    this.aborted = true;
    this.pending.length = 0;
    this.conn.abort();
  }
}

/** A request on an HTTP/2 (h2c) stream. */
export class H2Stream extends DownstreamStream {
  private drainWaiters: Array<() => void> | null = null;
  /** The request body, while it is still to end. */
  private requestBody: H2Body | null = null;
  /** The tunnel of an accepted extended CONNECT. */
  private tunnel: H2Tunnel | null = null;

  constructor(
    readonly stream: Http2Stream,
    ctx: StreamContext,
    /** Its connection's accounting until the stream is over; null when not watched (unit tests). */
    private h2Connection: H2Connection | null = null,
  ) {
    super("HTTP/2", ctx);
    this.attachConnection(h2Connection?.socket);
    // Shared module-level callbacks (no closure per stream) find this through `owner`.
    stream.owner = this;
    stream.onClose = onStreamClose;
    stream.onDrain = onStreamDrain;
  }

  /** The request has a body to come: it arrives on `this.body`, its trailers in `requestTrailers`. */
  openBody(): void {
    const body = new H2Body(this.stream);
    this.requestBody = body;
    this.body = body;
    this.watchBody(body);
    const s = this.stream;
    s.onData = onBodyData;
    s.onTrailers = onBodyTrailers;
    s.onEnd = onBodyEnd;
  }

  /** The stream is gone (lib/http2's onClose). */
  closedByCodec(): void {
    const body = this.requestBody;
    if (body !== null) {
      this.requestBody = null;
      // Cut before its end: the consumer (a pool) stops; the close below counts the reset.
      if (!this.stream.remoteEnded && !body.destroyed) body.destroy(RESET_ERROR);
    }
    const tunnel = this.tunnel;
    if (tunnel !== null) {
      this.tunnel = null;
      tunnel.codecClosed();
    }
    this.closed();
    const waiters = this.drainWaiters;
    this.drainWaiters = null;
    // A producer waiting for room goes on (its writes are dropped now), as after node's 'close'.
    if (waiters !== null) for (const cb of waiters) cb();
  }

  /** lib/http2 sent what was queued. */
  drained(): void {
    this.tunnel?.codecDrained();
    const waiters = this.drainWaiters;
    if (waiters === null) return;
    this.drainWaiters = null;
    for (const cb of waiters) cb();
  }

  /** Request body bytes (a view valid during the call; the socket's chunk, never reused). */
  bodyData(chunk: Buffer): void {
    const body = this.requestBody;
    if (body === null || body.destroyed) return;
    if (!body.push(chunk)) this.stream.pause();
  }

  bodyEnd(): void {
    const body = this.requestBody;
    this.requestBody = null;
    if (body !== null && !body.destroyed) body.push(null);
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
    return this.stream.remoteEnded;
  }

  onceDrain(cb: () => void): void {
    if (this.stream.closed) {
      process.nextTick(cb);
      return;
    }
    if (this.drainWaiters === null) this.drainWaiters = [cb];
    else this.drainWaiters.push(cb);
  }

  /** RFC 8441: the extended CONNECT succeeded (`:status 200`); the stream becomes the tunnel. */
  acceptUpgrade(headers: RawHeaders): Duplex {
    // The tunnel has its own idle timeout.
    this.stopTimers();
    this.sendHeaders(200, headers, false);
    // As on HTTP/1.1: the exchange is over as far as HTTP goes, so the tunnel's close is no reset.
    this.ended = true;
    const tunnel = new H2Tunnel(this.stream);
    this.tunnel = tunnel;
    const s = this.stream;
    s.onData = onTunnelData;
    s.onEnd = onTunnelEnd;
    s.onTrailers = null;
    if (s.closed) tunnel.codecClosed();
    return tunnel;
  }

  /** The tunnel's data and end (lib/http2's callbacks). */
  tunnelData(chunk: Buffer): void {
    this.tunnel?.fromPeer(chunk);
  }

  tunnelEnd(): void {
    this.tunnel?.fromPeer(null);
  }

  protected writeHead(status: number, headers: RawHeaders, endStream: boolean): void {
    const s = this.stream;
    if (s.closed || s.headersSent) return;
    s.respond(responseFields(status, headers), endStream);
    if (endStream) this.responseEnded();
  }

  protected writeBody(chunk: Buffer): boolean {
    const s = this.stream;
    if (s.closed) return true;
    return s.write(chunk);
  }

  protected endBody(trailers: RawHeaders | null): void {
    const s = this.stream;
    if (s.closed) return;
    if (trailers === null || trailers.length === 0) s.end();
    else s.end(trailerFields(trailers));
    this.responseEnded();
  }

  protected endWith(body: string): void {
    if (this.stream.closed) return;
    this.stream.write(Buffer.from(body, "latin1"), true);
    this.responseEnded();
  }

  /**
   * The response is complete while the request is not, and nobody reads its body (a local reply):
   * RST_STREAM NO_ERROR asks the client to stop sending (RFC 9113 8.1), as node:http2 did.
   */
  private responseEnded(): void {
    const s = this.stream;
    if (s.closed || !s.localEnded || s.remoteEnded || this.tunnel !== null) return;
    const body = this.body;
    if (body === null || body.readableFlowing === null) s.reset(ErrorCode.NO_ERROR);
  }

  protected destroyStream(): void {
    if (!this.stream.closed) this.stream.reset(ErrorCode.INTERNAL_ERROR);
  }
}

/** The error a request body ends with when its stream is reset (as a socket's ECONNRESET). */
const RESET_ERROR: Error = Object.assign(new Error("aborted"), { code: "ECONNRESET" });

/**
 * A request body: fed by the stream's DATA, read with backpressure (a full body pauses the stream,
 * so its window is no longer returned to the client). Destroying it early (pools destroy the body
 * they were given once sent, as undici does) drops the rest of the upload, not the exchange.
 */
class H2Body extends Readable {
  constructor(private readonly stream: Http2Stream) {
    super();
    // Destroyed with an error when the stream is reset mid-body: the stream's close counts it.
    this.on("error", ignoreErrorHandledOnClose);
  }

  override _read(): void {
    this.stream.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // What the client still sends is read and dropped (its window keeps being returned).
    this.stream.resume();
    cb(err);
  }
}

/**
 * The byte stream of an RFC 8441 tunnel: DATA both ways, END_STREAM as the end of each direction
 * (conn_pool/splice.ts half-closes it), a reset as an abrupt close.
 */
class H2Tunnel extends Duplex {
  private writeCallback: ((err?: Error | null) => void) | null = null;

  constructor(private readonly stream: Http2Stream) {
    super({ allowHalfOpen: true });
  }

  fromPeer(chunk: Buffer | null): void {
    if (this.destroyed) return;
    if (!this.push(chunk) && chunk !== null) this.stream.pause();
  }

  codecDrained(): void {
    const cb = this.writeCallback;
    this.writeCallback = null;
    cb?.();
  }

  /**
   * The stream is gone: after both ends a clean close (the Duplex closes itself once its end has been
   * read), else an abrupt one.
   */
  codecClosed(): void {
    const cb = this.writeCallback;
    this.writeCallback = null;
    cb?.();
    const s = this.stream;
    if (!this.destroyed && !(s.remoteEnded && s.localEnded)) this.destroy();
  }

  override _read(): void {
    this.stream.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    const s = this.stream;
    if (s.closed || s.write(chunk)) {
      cb();
      return;
    }
    this.writeCallback = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.stream.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.stream.closed) this.stream.reset(ErrorCode.CANCEL);
    cb(err);
  }
}

/**
 * A response head as HTTP/2 fields: `:status` first, names lower-cased, connection-specific headers
 * and `host` dropped (RFC 9113 8.2.2), one field only for the headers node:http2 sent once (the
 * first wins, as before, so clients see the same responses).
 */
function responseFields(status: number, headers: RawHeaders): Fields {
  const out: Fields = [":status", String(status)];
  appendFields(out, headers, 2);
  return out;
}

/** Trailers as HTTP/2 fields (no pseudo-headers, no connection-specific ones). */
function trailerFields(trailers: RawHeaders): Fields {
  const out: Fields = [];
  appendFields(out, trailers, 0);
  return out;
}

function appendFields(out: Fields, raw: RawHeaders, from: number): void {
  for (let i = 0; i < raw.length; i += 2) {
    let name = raw[i] as string;
    if (hasUpper(name)) name = name.toLowerCase();
    if (
      name.charCodeAt(0) === 58 /* ':' */ ||
      name === "host" ||
      name === "expect" ||
      name === "http2-settings" ||
      HOP_BY_HOP.has(name)
    )
      continue;
    if (H2_SINGLE_VALUE_HEADERS.has(name) && present(out, from, name)) continue;
    out.push(name, raw[i + 1] as string);
  }
}

function hasUpper(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) return true;
  }
  return false;
}

function present(out: Fields, from: number, name: string): boolean {
  for (let i = from; i < out.length; i += 2) if (out[i] === name) return true;
  return false;
}

// lib/http2 calls these with the stream as `this`; its owner is the H2Stream.
function onStreamClose(this: Http2Stream): void {
  (this.owner as H2Stream).closedByCodec();
}
function onStreamDrain(this: Http2Stream): void {
  (this.owner as H2Stream).drained();
}
function onBodyData(this: Http2Stream, chunk: Buffer): void {
  (this.owner as H2Stream).bodyData(chunk);
}
function onBodyTrailers(this: Http2Stream, fields: Fields): void {
  (this.owner as H2Stream).requestTrailers = fields;
}
function onBodyEnd(this: Http2Stream): void {
  (this.owner as H2Stream).bodyEnd();
}
function onTunnelData(this: Http2Stream, chunk: Buffer): void {
  (this.owner as H2Stream).tunnelData(chunk);
}
function onTunnelEnd(this: Http2Stream): void {
  (this.owner as H2Stream).tunnelEnd();
}

/**
 * The pseudo-header order of h2 requests (kept for an h2 upstream, which sends them in the client's
 * order, as Envoy): one shared array per distinct order instead of one per stream. Clients use one
 * or two orders; the cache is bounded, a client cycling through orders gets fresh arrays past it.
 */
export class PseudoOrders {
  private readonly known: string[][] = [];

  /** The pseudo-header names leading `raw` (a `[name, value, ...]` list); never mutate the result. */
  of(raw: readonly string[]): string[] {
    let n = 0;
    while (2 * n < raw.length && (raw[2 * n] as string).charCodeAt(0) === 58 /* ':' */) n++;
    for (const order of this.known) if (order.length === n && leads(order, raw)) return order;
    const order: string[] = [];
    for (let i = 0; i < n; i++) order.push(raw[2 * i] as string);
    if (this.known.length < MAX_PSEUDO_ORDERS) this.known.push(order);
    return order;
  }
}

/** There are 4! orders of the four request pseudo-headers, and :protocol (RFC 8441) besides. */
const MAX_PSEUDO_ORDERS = 16;

function leads(order: string[], raw: readonly string[]): boolean {
  for (let i = 0; i < order.length; i++) if (order[i] !== raw[2 * i]) return false;
  return true;
}
