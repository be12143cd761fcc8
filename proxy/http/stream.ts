/**
 * One downstream request/response exchange, whatever the codec (Envoy's `ActiveStream`): the
 * connection manager fills in the request, the router produces the response through the methods
 * below, and the stream reports itself to the access log once, when it is over.
 *
 * Subclasses: H1Stream (a request of lib/http1's server connection), H2Stream (a lib/http2 stream), H1RawStream (a
 * socket taken over for an Upgrade request, answered by hand).
 */
import type { Duplex, Readable } from "node:stream";
import type { AccessLogEntry } from "../access_log/entry.js";
import type { RawHeaders } from "../api/headers.js";
import { httpDate } from "../api/headers.js";
import type { ResponseFlag } from "../api/stream_info.js";
import type { HcmStats } from "./stats.js";
import type { StreamTimeouts, TimedStream } from "./stream_timeouts.js";

export type DownstreamProtocol = "HTTP/1.0" | "HTTP/1.1" | "HTTP/2";

/** A downstream connection as its streams see it: one per accepted socket (ConnectionManager.watchClose). */
export interface DownstreamConnection {
  /** The client closed first (its FIN before ours, or a reset). */
  remote: boolean;
  /** Streams begun on it and not over yet (`downstream_cx_destroy_active_rq` when it closes with some). */
  activeStreams: number;
  /** The connection manager's `delayed_close_timeout` (ms; 0: close once the reply is flushed). */
  delayedCloseMs: number;
  /** Where its close is counted (`downstream_cx_destroy_*`, `downstream_cx_active`, `_http1_active`/`_http2_active`). */
  readonly stats: HcmStats;
  /** The codec that took it (null while the listener sniffs). */
  codec: "http1" | "http2" | null;
  /** A TLS connection (`downstream_cx_ssl_active`). */
  tls: boolean;
}

/** The socket property that holds its DownstreamConnection (the accepted socket of either codec). */
export const CONNECTION: unique symbol = Symbol("echomesh.downstreamConnection");

/** A socket the connection manager watches. */
export interface WatchedSocket {
  [CONNECTION]?: DownstreamConnection;
}

/** What every stream of a listener shares. */
export interface StreamContext {
  readonly serverName: string;
  readonly stats: HcmStats;
  /** Called once per finished stream when an access log is configured. */
  readonly onRequestComplete: ((e: AccessLogEntry) => void) | null;
  /** True once the listener drains: HTTP/1.1 responses carry `connection: close`. */
  draining: boolean;
  /** The clock of `stream_idle_timeout` / `request_timeout`; null when no stream can time out. */
  readonly timeouts: StreamTimeouts | null;
  /** HCM `stream_idle_timeout` in ms (0 = off; a route's `idle_timeout` replaces it). */
  readonly streamIdleTimeoutMs: number;
  /** HCM `request_timeout` in ms (0 = off). */
  readonly requestTimeoutMs: number;
}

export abstract class DownstreamStream implements TimedStream {
  readonly startTime = Date.now();
  /** `:method`. */
  method = "";
  /** `:path` as sent upstream: the router replaces it on a rewrite (the original goes to x-envoy-original-path). */
  path = "";
  /** `Host` / `:authority`, "" when absent. */
  authority = "";
  /** Request headers after the connection manager's mutation: no pseudo, host or hop-by-hop headers. */
  headers: RawHeaders = [];
  /** The request body; null when the request has none. */
  body: Readable | null = null;
  /** Request trailers, set by the codec when the body has ended (before `body` emits 'end'). */
  requestTrailers: RawHeaders | null = null;
  /** The Upgrade type of an upgrade request (lower-case), or null. */
  upgrade: string | null = null;
  /** The client is internal (the request carries `x-envoy-internal: true`; its x-envoy-* headers drive the router). */
  internal = false;
  /**
   * The request id the response carries (an internal request with `x-envoy-force-trace`, as Envoy's
   * `mutateResponseHeaders` does); null: none.
   */
  responseRequestId: string | null = null;
  /** An h2 client's pseudo-header order, kept for an h2 upstream (null: HTTP/1.1, Envoy's own order). */
  pseudoOrder: string[] | null = null;
  remoteAddress: string | null = null;
  localAddress: string | null = null;

  // What the access log reports.
  routeName: string | null = null;
  upstreamHost: string | null = null;
  upstreamCluster: string | null = null;
  responseCode = 0;
  responseCodeDetails: string | null = null;
  responseHeaders: RawHeaders | null = null;
  responseTrailers: RawHeaders | null = null;
  responseFlags: ResponseFlag[] | null = null;
  bytesSent = 0;
  bytesReceived = 0;

  /** Headers sent downstream. */
  headersSent = false;
  /** The response was ended by us (end() or a headers-only reply). */
  ended = false;
  /** The downstream went away before the response ended. */
  aborted = false;
  private completed = false;
  /** `downstream_rq_rx_reset` is counted for this stream already (resetStream). */
  private rxResetCounted = false;
  /** The connection this stream came on; null when it is not watched (unit tests). */
  private connection: DownstreamConnection | null = null;
  /** Came over a TLS connection: its scheme is `https` (`:scheme` upstream, the access log). */
  secure = false;
  /** Set by the producer of the response (the router): called once if the downstream goes away first. */
  onAbort: (() => void) | null = null;
  /** The whole request (body included) has arrived. */
  requestComplete = true;
  /** HTTP/1.1: close the connection after this response (the request was not read to its end). */
  closeConnection = false;

  // StreamTimeouts bookkeeping (see ./stream_timeouts.ts).
  timerPrev: TimedStream | null = null;
  timerNext: TimedStream | null = null;
  timerActive = false;
  timerLastActivity: number;
  timerIdleMs: number;
  timerRequestDeadline = 0;
  private timerTracked = false;

  constructor(
    readonly protocol: DownstreamProtocol,
    protected readonly ctx: StreamContext,
  ) {
    ctx.stats.downstream_rq_total.value++;
    ctx.stats.downstream_rq_active.value++;
    if (protocol === "HTTP/2") ctx.stats.downstream_rq_http2_total.value++;
    else ctx.stats.downstream_rq_http1_total.value++;
    this.timerLastActivity = this.startTime;
    this.timerIdleMs = ctx.streamIdleTimeoutMs;
    if (this.timerIdleMs > 0 && ctx.timeouts !== null) {
      this.timerTracked = true;
      ctx.timeouts.add(this);
    }
  }

  /**
   * The request has a body still to arrive from `src` (the codec's stream): count its bytes for the
   * access log, let it feed the idle timer, and arm `request_timeout` until it ends.
   */
  watchBody(src: Readable): void {
    this.requestComplete = false;
    const timeouts = this.ctx.timeouts;
    if (this.ctx.requestTimeoutMs > 0 && timeouts !== null) {
      this.timerRequestDeadline = this.startTime + this.ctx.requestTimeoutMs;
      if (!this.timerTracked) {
        this.timerTracked = true;
        timeouts.add(this);
      }
    }
    const push = src.push;
    src.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
      if (chunk === null) {
        this.requestComplete = true;
        this.timerRequestDeadline = 0;
      } else if (chunk !== undefined) {
        this.bytesReceived += (chunk as Buffer).length;
        this.timerActive = true;
      }
      return push.call(src, chunk, encoding);
    };
  }

  /** Count this stream on its connection's until it is over (`socket`: the codec's, or undefined). */
  protected attachConnection(socket: WatchedSocket | null | undefined): void {
    const connection = socket?.[CONNECTION];
    if (connection === undefined) return;
    this.connection = connection;
    this.secure = connection.tls;
    connection.activeStreams++;
  }

  /** The route's `idle_timeout` replaces the HCM's `stream_idle_timeout` (0 disables). */
  setIdleTimeout(ms: number): void {
    this.timerIdleMs = ms;
    const timeouts = this.ctx.timeouts;
    if (ms > 0 && !this.timerTracked && timeouts !== null && !this.ended && !this.aborted) {
      this.timerTracked = true;
      timeouts.add(this);
    }
  }

  /** No timer applies any more (the response ended, or the stream became a tunnel). */
  protected stopTimers(): void {
    if (!this.timerTracked) return;
    this.timerTracked = false;
    this.ctx.timeouts?.remove(this);
  }

  /**
   * `stream_idle_timeout`: nothing moved either way for the idle time. Before the response: 408
   * `stream timeout` (flag SI); after: reset. The producer (the router) is told to let go first.
   */
  onIdleTimeout(): void {
    this.timerTracked = false;
    if (this.aborted || this.ended) return;
    this.ctx.stats.downstream_rq_idle_timeout.value++;
    this.addFlag("SI");
    this.abortProducer();
    if (this.headersSent) {
      this.responseCodeDetails = "stream_idle_timeout";
      this.resetStream();
      return;
    }
    if (!this.requestComplete) this.closeConnection = true;
    this.sendLocalReply(408, "stream timeout", "stream_idle_timeout");
  }

  /** `request_timeout`: the request had not fully arrived in time: 408 `request timeout`. */
  onRequestTimeout(): void {
    this.timerTracked = false;
    if (this.aborted || this.ended || this.headersSent) return;
    this.ctx.stats.downstream_rq_timeout.value++;
    this.abortProducer();
    this.closeConnection = true;
    this.sendLocalReply(408, "request timeout", "request_overall_timeout");
  }

  /** Tell the producer of the response (the router) to let go, once. */
  protected abortProducer(): void {
    const cb = this.onAbort;
    this.onAbort = null;
    cb?.();
  }

  get serverName(): string {
    return this.ctx.serverName;
  }

  addFlag(flag: ResponseFlag): void {
    if (this.responseFlags === null) this.responseFlags = [flag];
    else if (!this.responseFlags.includes(flag)) this.responseFlags.push(flag);
  }

  /**
   * Send the response head (`headers` is kept for the access log). As Envoy's `encodeHeaders`: a
   * `server` header gets `server_name` in its place, else one is appended after `date`, which is
   * appended when absent. With `endStream` the response is complete. `trailersPossible: false`
   * promises that `end()` will bring no trailers (HTTP/2 then ends the stream on the last DATA frame
   * instead of holding it open for trailers).
   */
  sendHeaders(status: number, headers: RawHeaders, endStream: boolean, trailersPossible = true): void {
    if (this.headersSent || this.aborted) return;
    this.headersSent = true;
    this.responseCode = status;
    this.responseHeaders = headers;
    this.ctx.stats.countResponse(status);
    let date = false;
    let server = -1;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      if (name.length === 4 && name.toLowerCase() === "date") date = true;
      else if (name.length === 6 && name.toLowerCase() === "server") server = i;
    }
    if (!date) headers.push("date", httpDate());
    if (server < 0) headers.push("server", this.ctx.serverName);
    else headers[server + 1] = this.ctx.serverName;
    if (this.responseRequestId !== null) headers.push("x-request-id", this.responseRequestId);
    // Envoy disarms request_timeout once the response starts.
    this.timerRequestDeadline = 0;
    this.timerActive = true;
    if (endStream) {
      this.ended = true;
      this.stopTimers();
      this.countEarlyResponse();
    }
    this.writeHead(status, headers, endStream, trailersPossible);
  }

  /** Write a body chunk; false means "wait for drain" (see onceDrain). */
  write(chunk: Buffer): boolean {
    if (this.aborted || this.ended) return true;
    this.bytesSent += chunk.length;
    this.timerActive = true;
    return this.writeBody(chunk);
  }

  /** End the response, with trailers if any. */
  end(trailers: RawHeaders | null): void {
    if (this.aborted || this.ended) return;
    this.ended = true;
    this.stopTimers();
    this.countEarlyResponse();
    if (trailers !== null && trailers.length > 0) this.responseTrailers = trailers;
    this.endBody(trailers);
  }

  /**
   * A local reply as Envoy sends it: `content-length` and `content-type: text/plain` when there is a
   * body, then `date`, `server` (an empty body gets `content-length: 0` from the codec, last). If
   * the response has already started, the stream is reset instead.
   */
  sendLocalReply(status: number, body: string, details: string | null, extra?: RawHeaders): void {
    if (this.aborted || this.ended) return;
    if (this.headersSent) {
      this.resetStream();
      return;
    }
    this.responseCodeDetails = details;
    const headers: RawHeaders = extra === undefined ? [] : extra;
    const length = Buffer.byteLength(body);
    if (length > 0) headers.push("content-length", String(length), "content-type", "text/plain");
    const headOnly = length === 0 || this.method === "HEAD";
    this.sendHeaders(status, headers, headOnly, false);
    if (!headOnly) {
      this.bytesSent += length;
      this.ended = true;
      this.stopTimers();
      this.countEarlyResponse();
      this.endWith(body);
    }
  }

  /** Abort the response after it started (HTTP/1: destroy the connection; HTTP/2: RST_STREAM). */
  resetStream(): void {
    if (this.aborted) return;
    this.ended = true;
    this.stopTimers();
    this.ctx.stats.downstream_rq_tx_reset.value++;
    // Envoy's codec reports its own reset back to the stream: rx_reset too.
    this.ctx.stats.downstream_rq_rx_reset.value++;
    this.rxResetCounted = true;
    // Envoy's stream is gone before the connection closes under it.
    this.releaseConnection();
    this.destroyStream();
  }

  abstract onceDrain(cb: () => void): void;
  /**
   * Upgrade requests only: send the success head (HTTP/1.1 `101`, HTTP/2 `200`) with `headers` and
   * return the byte stream to splice with the upstream.
   */
  abstract acceptUpgrade(headers: RawHeaders): Duplex;
  protected abstract writeHead(
    status: number,
    headers: RawHeaders,
    endStream: boolean,
    trailersPossible: boolean,
  ): void;
  protected abstract writeBody(chunk: Buffer): boolean;
  protected abstract endBody(trailers: RawHeaders | null): void;
  protected abstract endWith(body: string): void;
  protected abstract destroyStream(): void;

  /**
   * The response is complete: Envoy counts `downstream_rq_response_before_rq_complete` when the
   * request is not (a codec error, an early local reply, an upgrade whose request is the tunnel).
   */
  protected countEarlyResponse(): void {
    if (!this.requestComplete && !this.requestEndReceived())
      this.ctx.stats.downstream_rq_response_before_rq_complete.value++;
  }

  /**
   * The codec has received the end of the request even if the body has not been read to it yet
   * (`requestComplete` follows the reads). Only HTTP/2 can tell.
   */
  protected requestEndReceived(): boolean {
    return false;
  }

  /**
   * The stream no longer counts as active on its connection (it is over as far as HTTP goes: a reset,
   * or a reply that ends a connection taken over for an upgrade). Idempotent.
   */
  protected releaseConnection(): void {
    if (this.connection === null) return;
    this.connection.activeStreams--;
    this.connection = null;
  }

  /**
   * The codec reports the downstream closed (normally or not). Idempotent. As Envoy, a request cut
   * by the close counts in `downstream_rq_rx_reset`, answered or not.
   */
  protected closed(): void {
    if (!this.ended && !this.aborted) {
      this.aborted = true;
      this.addFlag("DC");
      this.responseCodeDetails = "downstream_remote_disconnect";
      this.ctx.stats.downstream_rq_rx_reset.value++;
      this.abortProducer();
    } else if (!this.completed && !this.requestComplete && !this.rxResetCounted) {
      this.ctx.stats.downstream_rq_rx_reset.value++;
    }
    this.stopTimers();
    this.complete();
  }

  private complete(): void {
    if (this.completed) return;
    this.completed = true;
    this.ctx.stats.downstream_rq_active.value--;
    this.releaseConnection();
    const log = this.ctx.onRequestComplete;
    if (log !== null) log(this.entry());
  }

  /** `https` on a TLS connection, else `http`. */
  get scheme(): "http" | "https" {
    return this.secure ? "https" : "http";
  }

  private entry(): AccessLogEntry {
    return {
      startTime: this.startTime,
      method: this.method,
      path: this.path,
      authority: this.authority,
      scheme: this.scheme,
      protocol: this.protocol,
      requestHeaders: this.headers,
      responseHeaders: this.responseHeaders,
      responseTrailers: this.responseTrailers,
      responseCode: this.aborted && !this.headersSent ? 0 : this.responseCode,
      responseCodeDetails: this.responseCodeDetails,
      responseFlags: this.responseFlags ?? NO_FLAGS,
      bytesReceived: this.bytesReceived,
      bytesSent: this.bytesSent,
      durationMs: Date.now() - this.startTime,
      upstreamHost: this.upstreamHost,
      upstreamCluster: this.upstreamCluster,
      downstreamRemoteAddress: this.remoteAddress,
      downstreamLocalAddress: this.localAddress,
      routeName: this.routeName,
    };
  }
}

const NO_FLAGS: readonly string[] = [];
