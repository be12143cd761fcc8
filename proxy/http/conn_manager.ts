/**
 * The HTTP connection manager (Envoy's HCM) of one listener: an HTTP/1.1 codec and h2c connections
 * (our HTTP/2 layer, lib/http2) that the listener hands sockets to, turning every request (a parsed HTTP/1 head, Upgrade socket,
 * or HTTP/2 stream) into a DownstreamStream with Envoy's request header mutation, then handing it
 * to the router. Codec errors get Envoy's local replies (400, 431, 426, 408).
 */

import type { Socket } from "node:net";
import {
  type CodecError,
  type H1Connection,
  H1Server,
  type RequestHead,
} from "../../lib/http1/server_connection.js";
import { Http2Connection, type Http2Options } from "../../lib/http2/connection.js";
import type { Fields, Http2Stream } from "../../lib/http2/stream.js";
import type { AccessLogEntry } from "../access_log/entry.js";
import type { ConnectionHandler } from "../api/connection_handler.js";
import { httpDate } from "../api/headers.js";
import type { RequestHandler } from "../api/request_handler.js";
import type { ConfigVersion, HttpConnectionManagerConfig } from "../config/model.js";
import { downstreamHeaders, joinCookies } from "./downstream_headers.js";
import { H1RawStream } from "./h1_raw_stream.js";
import { closeAfterDelay, H1Stream, reasonPhrase } from "./h1_stream.js";
import { countConnectionError, countHeaderOverflow } from "./h2_codec_stats.js";
import { H2Connection, H2Stream, PseudoOrders } from "./h2_stream.js";
import {
  internalAddressPolicy,
  localAddress,
  mutateRequestHeaders,
  type RequestHeaderConfig,
  unmapAddress,
} from "./request_headers.js";
import type { HcmStats } from "./stats.js";
import {
  CONNECTION,
  type DownstreamConnection,
  type DownstreamStream,
  type StreamContext,
  type WatchedSocket,
} from "./stream.js";
import { StreamTimeouts } from "./stream_timeouts.js";

const EMPTY = Buffer.alloc(0);

/** Sockets that send nothing decisive for this long during the h2c sniff are closed (sooner with a shorter idle_timeout). */
const SNIFF_TIMEOUT_MS = 60_000;

/**
 * A valid Host / authority: RFC 3986 §3.2 characters, `@` (user info) included, as Envoy checks it
 * (nghttp2's `check_authority`); anything else is 400 `http.invalid_authority`.
 */
const VALID_AUTHORITY = /^[A-Za-z0-9!$&'()*+,\-.:;=@[\]_~%]*$/;

export class ConnectionManager implements ConnectionHandler {
  /** The HTTP/1.1 codec; the listener hands it sockets with `emit("connection", socket)`. */
  readonly h1: H1Server;
  private readonly ctx: StreamContext;
  /** The options of every downstream HTTP/2 connection (lib/http2), from `http2_protocol_options`. */
  private readonly h2Options: Http2Options;
  private readonly h2Connections = new Set<H2Connection>();
  private readonly pseudoOrders = new PseudoOrders();
  private readonly timeouts: StreamTimeouts | null;
  private readonly headerConfig: RequestHeaderConfig;
  /** drain() was called (drainClose(false) cannot undo it). */
  private drained = false;

  /** `dialect`: the config file's; which clients are internal depends on it (./request_headers.ts). */
  constructor(
    private readonly hcm: HttpConnectionManagerConfig,
    private readonly router: RequestHandler<DownstreamStream>,
    readonly stats: HcmStats,
    onRequestComplete: ((e: AccessLogEntry) => void) | null,
    dialect: ConfigVersion = "v3",
  ) {
    this.headerConfig = {
      useRemoteAddress: hcm.useRemoteAddress,
      xffNumTrustedHops: hcm.xffNumTrustedHops,
      generateRequestId: hcm.generateRequestId,
      isInternal: internalAddressPolicy(dialect, hcm.internalAddresses),
      localAddress: hcm.useRemoteAddress ? localAddress() : "",
    };
    const shortest = shortestStreamTimeout(hcm);
    this.timeouts = shortest > 0 ? new StreamTimeouts(shortest) : null;
    this.ctx = {
      serverName: hcm.serverName,
      stats,
      onRequestComplete,
      draining: false,
      timeouts: this.timeouts,
      streamIdleTimeoutMs: hcm.streamIdleTimeoutMs,
      requestTimeoutMs: hcm.requestTimeoutMs,
    };
    // The request head's own deadlines (request_headers_timeout, and stream_idle_timeout and
    // request_timeout, which run from its first byte) are the codec's; the stream clock times the rest.
    this.h1 = new H1Server(
      {
        onRequest: (conn, head) => this.onH1Request(conn, head),
        onUpgrade: (conn, head, rest) => this.onH1Upgrade(conn, head, rest),
        onCodecError: (socket, error) => this.onCodecError(socket, error),
        onIdleTimeout: () => {
          stats.downstream_cx_idle_timeout.value++;
        },
      },
      {
        maxHeadBytes: hcm.maxRequestHeadersKb * 1024,
        maxHeadersCount: hcm.maxHeadersCount,
        idleTimeoutMs: hcm.idleTimeoutMs,
        headersTimeoutMs: hcm.requestHeadersTimeoutMs,
        streamIdleTimeoutMs: hcm.streamIdleTimeoutMs,
        requestTimeoutMs: hcm.requestTimeoutMs,
      },
    );

    this.h2Options = {
      enableConnectProtocol: hcm.allowConnect,
      maxHeaderListSize: hcm.maxRequestHeadersKb * 1024,
      maxConcurrentStreams: hcm.http2MaxConcurrentStreams,
      initialStreamWindowSize: hcm.http2InitialStreamWindowSize,
      initialConnectionWindowSize: hcm.http2InitialConnectionWindowSize,
      maxHeadersCount: hcm.maxHeadersCount,
      maxOutboundFrames: hcm.http2MaxOutboundFrames,
      maxOutboundControlFrames: hcm.http2MaxOutboundControlFrames,
      maxConsecutiveEmptyFrames: hcm.http2MaxConsecutiveInboundFramesWithEmptyPayload,
      maxInboundPriorityFramesPerStream: hcm.http2MaxInboundPriorityFramesPerStream,
      maxInboundWindowUpdateFramesPerDataFrameSent: hcm.http2MaxInboundWindowUpdateFramesPerDataFrameSent,
      // Envoy's premature-reset rule (with its 1 s lifetime) is the connection manager's: H2Connection.
      prematureResetMinStreams: 0,
    };
  }

  /**
   * Count which side closed a downstream connection (`downstream_cx_destroy_local`/`_remote`), as
   * Envoy: the client's FIN before ours, or a reset by the client, is remote; anything else local.
   */
  get codecType(): "auto" | "http1" | "http2" {
    return this.hcm.codecType;
  }

  /** Sockets that send nothing decisive for this long during sniffing are closed. */
  get sniffTimeoutMs(): number {
    const idle = this.hcm.idleTimeoutMs;
    return idle > 0 ? Math.min(idle, SNIFF_TIMEOUT_MS) : SNIFF_TIMEOUT_MS;
  }

  /** An accepted connection: `downstream_cx_total`/`_active`, its close counted when it comes. */
  accept(socket: Socket): void {
    const stats = this.ctx.stats;
    stats.downstream_cx_total.value++;
    stats.downstream_cx_active.value++;
    const tls = isTls(socket);
    if (tls) {
      stats.downstream_cx_ssl_total.value++;
      stats.downstream_cx_ssl_active.value++;
    }
    this.watchClose(socket, tls);
  }

  /** The codec takes the connection (`downstream_cx_http1_*` / `_http2_*`). */
  dispatch(socket: Socket, protocol: "http1" | "http2"): void {
    if (socket.destroyed) return;
    const stats = this.ctx.stats;
    const connection = (socket as WatchedSocket)[CONNECTION];
    if (connection !== undefined) connection.codec = protocol;
    if (protocol === "http2") {
      stats.downstream_cx_http2_total.value++;
      stats.downstream_cx_http2_active.value++;
      this.acceptH2(socket);
    } else {
      stats.downstream_cx_http1_total.value++;
      stats.downstream_cx_http1_active.value++;
      this.h1.emit("connection", socket);
      // Our HTTP/1.1 codec reads through the stream: undo the sniffer's pause.
      socket.resume();
    }
  }

  private watchClose(socket: Socket, tls: boolean): void {
    const connection: DownstreamConnection = {
      remote: false,
      activeStreams: 0,
      delayedCloseMs: this.hcm.delayedCloseTimeoutMs,
      stats: this.ctx.stats,
      codec: null,
      tls,
    };
    (socket as WatchedSocket)[CONNECTION] = connection;
    // Module-level listeners that find the connection on the socket: none allocated per connection.
    socket.prependListener("end", onWatchedEnd);
    socket.on("error", onWatchedError);
    // Registered before any codec's: the streams cut by the close are still active here.
    socket.on("close", onWatchedClose);
  }

  /** HTTP/1.1 responses get `connection: close`, HTTP/2 sessions a GOAWAY; idle keep-alive sockets close. */
  drain(): void {
    this.drained = true;
    this.ctx.draining = true;
    this.h1.closeIdleConnections();
    for (const c of this.h2Connections) c.conn.goaway();
  }

  /** See ConnectionHandler.drainClose: `connection: close` and GOAWAY while on; idle connections stay. */
  drainClose(on: boolean): void {
    this.ctx.draining = on || this.drained;
    if (on) for (const c of this.h2Connections) c.conn.goaway();
  }

  /** Stop the stream clock (the listener closes; its sockets are destroyed by the caller). */
  close(): void {
    this.timeouts?.close();
    this.h1.close();
  }

  /** An h2c connection (prior knowledge), its preface unread. */
  private acceptH2(socket: Socket): void {
    const stats = this.ctx.stats;
    let h2Connection: H2Connection | null = null;
    const conn = new Http2Connection(socket, "server", this.h2Options, {
      onStream: (stream, fields, endStream) =>
        this.onH2Stream(h2Connection as H2Connection, stream, fields, endStream),
      // A client's GOAWAY: the client closes the connection (as Envoy counts it, reading the FIN).
      onGoaway: () => {
        const connection = (socket as WatchedSocket)[CONNECTION];
        if (connection !== undefined) connection.remote = true;
      },
      onConnectionError: (code, reason) => countConnectionError(stats, code, reason),
      onHeaderOverflow: (limit) => countHeaderOverflow(stats, limit),
      onClose: () => {
        if (h2Connection !== null) this.h2Connections.delete(h2Connection);
      },
    });
    h2Connection = new H2Connection(conn, stats);
    this.h2Connections.add(h2Connection);
    // Envoy creates its `http2.*` codec stats with the first downstream HTTP/2 connection.
    stats.http2Codec();
    // Connection idle_timeout: without a stream for that long, GOAWAY (the socket ends after it).
    if (this.hcm.idleTimeoutMs > 0)
      socket.setTimeout(this.hcm.idleTimeoutMs, () => {
        if (conn.activeStreams > 0 || conn.goawaySent || conn.closed) return;
        stats.downstream_cx_idle_timeout.value++;
        conn.goaway();
      });
    if (this.ctx.draining) conn.goaway();
    // The sniffer paused the socket (the preface it read is back in front): start reading.
    socket.resume();
  }

  private onH1Request(conn: H1Connection, head: RequestHead): void {
    const stream = new H1Stream(conn, head, head.http10 ? "HTTP/1.0" : "HTTP/1.1", this.ctx);
    stream.statusLine10 = head.http10 && this.hcm.acceptHttp10;
    const maxRequests = this.hcm.maxRequestsPerConnection;
    if (maxRequests > 0 && conn.requests >= maxRequests) {
      // Envoy: the connection's last request; its response closes the connection at once.
      stream.closeConnection = true;
      stream.lastRequest = true;
      this.ctx.stats.downstream_cx_max_requests_reached.value++;
    }
    stream.dispatching = true;
    this.dispatchH1(stream, head);
    stream.dispatching = false;
  }

  /** The request's head is in: answer it or route it (a reply sent from here is sent while dispatching). */
  private dispatchH1(stream: H1Stream, head: RequestHead): void {
    if (head.expectContinue) {
      // Envoy answers the 100 itself and counts it as a response (1xx, completed).
      stream.conn.socket.write("HTTP/1.1 100 Continue\r\n\r\n", "latin1");
      this.ctx.stats.countResponse(100);
    }
    // Envoy's codec ignores `Upgrade: h2c`: the plain HTTP/1.1 request it also is, without it.
    if (head.upgrade === "h2c") head.rawHeaders = withoutH2cUpgrade(head.rawHeaders);
    if (!this.fillH1(stream, head, stream.conn.socket)) return;
    if (head.framing === "unknown") {
      // Envoy's codec only knows chunked: 501 before routing, a protocol error closing the connection.
      this.ctx.stats.downstream_cx_protocol_error.value++;
      stream.requestComplete = false;
      stream.closeConnection = true;
      stream.sendLocalReply(501, "Not Implemented", "http1.invalid_transfer_encoding");
      return;
    }
    if (head.body !== null) {
      stream.body = head.body;
      stream.watchBody(head.body);
    }
    this.router.route(stream);
  }

  /** An Upgrade (or CONNECT) request: the socket is handed over with `rest`, what followed the head. */
  private onH1Upgrade(conn: H1Connection, head: RequestHead, rest: Buffer): void {
    const socket = conn.socket;
    if (head.method === "CONNECT") {
      this.onH1Connect(socket, head);
      return;
    }
    // The socket may become a tunnel, which half-closes each way (conn_pool/splice.ts): the client's
    // FIN, even right behind this request, must not end our side. Node reads the flag at the FIN.
    socket.allowHalfOpen = true;
    const stream = new H1RawStream(socket, head.http10 ? "HTTP/1.0" : "HTTP/1.1", this.ctx);
    if (!this.fillH1(stream, head, socket, true)) return;
    stream.upgrade = head.upgrade;
    // The request of an upgrade goes on as the tunnel: any response comes before it is complete.
    stream.requestComplete = false;
    this.router.routeUpgrade(stream, rest);
  }

  /** A CONNECT request: no route can match it (Envoy needs a `connect_matcher`): 404. */
  private onH1Connect(socket: Socket, head: RequestHead): void {
    const stream = new H1RawStream(socket, "HTTP/1.1", this.ctx);
    stream.method = "CONNECT";
    stream.path = head.target;
    stream.authority = head.host ?? "";
    this.ctx.stats.rq_total.value++;
    this.ctx.stats.no_route.value++;
    stream.addFlag("NR");
    stream.sendLocalReply(404, "", "route_not_found");
  }

  /**
   * Request line and headers into `stream`; false if the request was answered: 426 (HTTP/1.0 or
   * 0.9 without `accept_http_10`), 400 (Host missing, repeated or invalid).
   */
  private fillH1(stream: DownstreamStream, head: RequestHead, socket: Socket, upgrade = false): boolean {
    stream.method = head.method;
    stream.path = head.target;
    // Absolute form (`GET http://host/path`): routed on the path, the target's host is the authority.
    const absolute = absoluteTarget(stream.path);
    // Addresses only feed the access log: no strings built per request without one.
    if (this.ctx.onRequestComplete !== null) {
      stream.remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
      stream.localAddress = `${socket.localAddress}:${socket.localPort}`;
    }
    let authority = head.host;
    if (absolute !== null) {
      stream.path = absolute.path;
      authority = absolute.authority;
    }
    if (stream.protocol === "HTTP/1.0") {
      if (!this.hcm.acceptHttp10) {
        // A protocol error in Envoy's codec, raised before the request is complete.
        this.ctx.stats.downstream_cx_protocol_error.value++;
        stream.headers = head.rawHeaders;
        stream.requestComplete = false;
        stream.closeConnection = true;
        stream.addFlag("DPE");
        stream.sendLocalReply(426, "Upgrade Required", "low_version");
        return false;
      }
      if (authority === undefined && this.hcm.defaultHostForHttp10 !== null)
        authority = this.hcm.defaultHostForHttp10;
    }
    if (authority === null || (authority !== undefined && !VALID_AUTHORITY.test(authority))) {
      // Repeated (RFC 9112 §3.2) or not an authority: Envoy's protocol error, the connection closes.
      this.ctx.stats.downstream_cx_protocol_error.value++;
      stream.headers = head.rawHeaders;
      stream.closeConnection = true;
      stream.addFlag("DPE");
      stream.sendLocalReply(400, "Bad Request", "http.invalid_authority");
      return false;
    }
    stream.authority = authority ?? "";
    stream.headers = downstreamHeaders(head.rawHeaders, upgrade);
    stream.internal = mutateRequestHeaders(
      stream.headers,
      this.peer(socket),
      this.headerConfig,
      isTls(socket),
    );
    if (stream.internal) stream.responseRequestId = forcedTraceId(stream.headers);
    if (stream.authority === "") {
      this.missingHost(stream);
      return false;
    }
    return true;
  }

  /** No Host (HTTP/1.1) or `:authority`: Envoy answers 400 and closes an HTTP/1 connection. */
  private missingHost(stream: DownstreamStream): void {
    stream.closeConnection = true;
    stream.sendLocalReply(400, "", "missing_host_header");
  }

  /** The peer IP for x-forwarded-for; only `use_remote_address` reads it. */
  private peer(socket: Socket | undefined): string {
    if (!this.hcm.useRemoteAddress || socket === undefined) return "";
    return unmapAddress(socket.remoteAddress ?? "");
  }

  /**
   * A new stream: its head is read into an H2Stream now (counted at once, its body buffered), and it
   * is routed once the socket read that brought it is parsed (H2Connection.pending).
   */
  private onH2Stream(h2Connection: H2Connection, s: Http2Stream, fields: Fields, endStream: boolean): void {
    if (h2Connection.aborted) return;
    const maxRequests = this.hcm.maxRequestsPerConnection;
    if (maxRequests > 0 && ++h2Connection.requests >= maxRequests) {
      // Envoy: the Nth stream starts the drain (GOAWAY); the streams in flight finish.
      this.ctx.stats.downstream_cx_max_requests_reached.value++;
      h2Connection.conn.goaway();
    }
    const stream = new H2Stream(s, this.ctx, h2Connection);
    let method = "GET";
    let protocol: string | null = null;
    let host: string | null = null;
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i] as string;
      if (name.charCodeAt(0) === 58 /* ':' */) {
        const value = fields[i + 1] as string;
        if (name === ":method") method = value;
        else if (name === ":path") stream.path = value;
        else if (name === ":authority") stream.authority = value;
        else if (name === ":protocol") protocol = value;
      } else if (host === null && name === "host") host = fields[i + 1] as string;
    }
    stream.method = method;
    if (stream.authority === "" && host !== null) stream.authority = host;
    const socket = h2Connection.conn.socket;
    if (this.ctx.onRequestComplete !== null) {
      stream.remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
      stream.localAddress = `${socket.localAddress}:${socket.localPort}`;
    }
    stream.pseudoOrder = this.pseudoOrders.of(fields);
    stream.headers = joinCookies(downstreamHeaders(fields));
    stream.internal = mutateRequestHeaders(
      stream.headers,
      this.peer(socket),
      this.headerConfig,
      isTls(socket),
    );
    if (stream.internal) stream.responseRequestId = forcedTraceId(stream.headers);
    if (protocol !== null) stream.upgrade = protocol.toLowerCase();
    else if (!endStream && method !== "CONNECT") stream.openBody();
    const pending = h2Connection.pending;
    pending.push(stream);
    if (pending.length === 1) process.nextTick(routePending, this, h2Connection);
  }

  /** The streams of one socket read, now that it is parsed: those still open are routed. */
  routeH2(h2Connection: H2Connection): void {
    const pending = h2Connection.pending;
    h2Connection.pending = [];
    // Reset by the client in the same read as its HEADERS (rapid reset): nothing to route; its
    // close counted it (rx reset, premature reset).
    for (const stream of pending) if (!stream.aborted) this.dispatchH2(stream);
  }

  private dispatchH2(stream: H2Stream): void {
    if (stream.authority === "") {
      this.missingHost(stream);
      return;
    }
    if (stream.method === "CONNECT") {
      if (stream.upgrade !== null) {
        this.router.routeUpgrade(stream, EMPTY);
      } else {
        this.ctx.stats.rq_total.value++;
        this.ctx.stats.no_route.value++;
        stream.addFlag("NR");
        stream.sendLocalReply(404, "", "route_not_found");
      }
      return;
    }
    this.router.route(stream);
  }

  /**
   * A request head refused by the codec: Envoy answers with the status text as body and closes the
   * connection (`400 Bad Request`, `431 Request Header Fields Too Large`, `408` when the head did
   * not arrive in time).
   */
  private onCodecError(socket: Socket, error: CodecError): void {
    if (!socket.writable || socket.destroyed) {
      socket.destroy();
      return;
    }
    const stats = this.ctx.stats;
    // Envoy's codec had begun a request: it counts, and it is answered before it is complete, then
    // cut by the close.
    stats.downstream_rq_total.value++;
    stats.downstream_rq_http1_total.value++;
    stats.downstream_rq_response_before_rq_complete.value++;
    socket.once("close", () => stats.downstream_rq_rx_reset.value++);
    let status = 408;
    let body: string;
    switch (error) {
      case "header_timeout":
        stats.downstream_rq_header_timeout.value++;
        body = "request header timeout";
        break;
      case "request_timeout":
        stats.downstream_rq_timeout.value++;
        body = "request timeout";
        break;
      case "stream_idle_timeout":
        stats.downstream_rq_idle_timeout.value++;
        body = "stream timeout";
        break;
      default:
        stats.downstream_cx_protocol_error.value++;
        status = error === "bad_request" ? 400 : 431;
        body = reasonPhrase(status);
    }
    stats.countResponse(status);
    socket.write(
      `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\ncontent-length: ${body.length}\r\ncontent-type: text/plain\r\n` +
        `date: ${httpDate()}\r\nserver: ${this.hcm.serverName}\r\nconnection: close\r\n\r\n${body}`,
      "latin1",
    );
    closeAfterDelay(socket);
  }
}

function routePending(cm: ConnectionManager, h2Connection: H2Connection): void {
  cm.routeH2(h2Connection);
}

/** The client's FIN before ours: the client closed first. */
function onWatchedEnd(this: Socket & WatchedSocket): void {
  const connection = this[CONNECTION];
  if (connection !== undefined && !this.writableEnded) connection.remote = true;
}

/** A reset by the client: the client closed first (the 'close' that follows counts it). */
function onWatchedError(this: Socket & WatchedSocket, err: NodeJS.ErrnoException): void {
  const connection = this[CONNECTION];
  if (connection !== undefined && (err.code === "ECONNRESET" || err.code === "EPIPE"))
    connection.remote = true;
}

/** `downstream_cx_destroy_local`/`_remote`, and `_active_rq` when streams were cut by the close. */
function onWatchedClose(this: Socket & WatchedSocket): void {
  const connection = this[CONNECTION];
  if (connection === undefined) return;
  const stats = connection.stats;
  stats.downstream_cx_active.value--;
  stats.downstream_cx_destroy.value++;
  if (connection.codec === "http1") stats.downstream_cx_http1_active.value--;
  else if (connection.codec === "http2") stats.downstream_cx_http2_active.value--;
  if (connection.tls) stats.downstream_cx_ssl_active.value--;
  const active = connection.activeStreams > 0;
  if (connection.remote) {
    stats.downstream_cx_destroy_remote.value++;
    if (active) stats.downstream_cx_destroy_remote_active_rq.value++;
  } else {
    stats.downstream_cx_destroy_local.value++;
    if (active) stats.downstream_cx_destroy_local_active_rq.value++;
  }
  if (active) stats.downstream_cx_destroy_active_rq.value++;
}

/** An `Upgrade: h2c` request's headers without the upgrade's own (`upgrade`, `http2-settings`, `connection`). */
function withoutH2cUpgrade(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = (raw[i] as string).toLowerCase();
    if (lower === "upgrade" || lower === "http2-settings" || lower === "connection") continue;
    out.push(raw[i] as string, raw[i + 1] as string);
  }
  return out;
}

/** An internal request with `x-envoy-force-trace`: its x-request-id goes back in the response. */
function forcedTraceId(headers: string[]): string | null {
  let forced = false;
  let id: string | null = null;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name === "x-envoy-force-trace") forced = true;
    else if (name === "x-request-id") id = headers[i + 1] as string;
  }
  return forced ? id : null;
}

/** `http://host:port/path?q` -> its authority and path (`/` when it has none); null for origin form. */
function absoluteTarget(target: string): { authority: string; path: string } | null {
  if (target.charCodeAt(0) === 47 /* / */) return null;
  const m = /^https?:\/\/([^/?#]*)(.*)$/i.exec(target);
  if (m === null) return null;
  const rest = m[2] ?? "";
  return {
    authority: m[1] ?? "",
    path: rest === "" || rest.charCodeAt(0) === 63 /* ? */ ? `/${rest}` : rest,
  };
}

/** The shortest stream timeout any stream of this HCM can get (HCM and route values), 0 = none. */
function shortestStreamTimeout(hcm: HttpConnectionManagerConfig): number {
  let min = 0;
  const consider = (ms: number | null): void => {
    if (ms !== null && ms > 0 && (min === 0 || ms < min)) min = ms;
  };
  consider(hcm.streamIdleTimeoutMs);
  consider(hcm.requestTimeoutMs);
  for (const vh of hcm.routeConfig.virtualHosts)
    for (const r of vh.routes) if (r.action.kind === "forward") consider(r.action.idleTimeoutMs);
  return min;
}

/** A connection the listener's TLS transport socket terminated (a `TLSSocket`: `encrypted` is true). */
function isTls(socket: Socket): boolean {
  return (socket as Socket & { encrypted?: boolean }).encrypted === true;
}
