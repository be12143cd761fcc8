/**
 * The HTTP connection manager (Envoy's HCM) of one listener: an HTTP/1.1 codec and an h2c server
 * that the listener hands sockets to, turning every request (a parsed HTTP/1 head, Upgrade socket,
 * or HTTP/2 stream) into a DownstreamStream with Envoy's request header mutation, then handing it
 * to the router. Codec errors get Envoy's local replies (400, 431, 426, 408).
 */

import http2, {
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import type { Socket } from "node:net";
import type { AccessLogEntry } from "../access_log/entry.js";
import { rawFromH2Object } from "../api/h2_headers.js";
import { httpDate } from "../api/headers.js";
import type { RequestHandler } from "../api/request_handler.js";
import type { ConfigVersion, HttpConnectionManagerConfig } from "../config/model.js";
import { downstreamHeaders, joinCookies } from "./downstream_headers.js";
import { type CodecError, type H1Connection, H1Server, type RequestHead } from "../../lib/http1/server_connection.js";
import { H1RawStream } from "./h1_raw_stream.js";
import { closeAfterDelay, H1Stream, reasonPhrase } from "./h1_stream.js";
import { guardedBody, H2Connection, H2Stream } from "./h2_stream.js";
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

/** nghttp2's NGHTTP2_ERR_FLOODED: too many frames queued for a peer that does not read them. */
const NGHTTP2_ERR_FLOODED = -904;

/**
 * A valid Host / authority: RFC 3986 §3.2 characters, `@` (user info) included, as Envoy checks it
 * (nghttp2's `check_authority`); anything else is 400 `http.invalid_authority`.
 */
const VALID_AUTHORITY = /^[A-Za-z0-9!$&'()*+,\-.:;=@[\]_~%]*$/;

export class ConnectionManager {
  /** The HTTP/1.1 codec; the listener hands it sockets with `emit("connection", socket)`. */
  readonly h1: H1Server;
  readonly h2: Http2Server;
  /** Each HTTP/2 connection's accounting across its streams. */
  private readonly h2Connections = new WeakMap<ServerHttp2Session, H2Connection>();
  /**
   * A session error: nghttp2's flood of queued control frames (more than 1000 PING/SETTINGS ACKs or
   * RST_STREAMs) is Envoy's `http2.outbound_control_flood`. The 'close' that follows counts the rest.
   */
  private readonly onSessionError = (err: NodeJS.ErrnoException): void => {
    if (err.errno === NGHTTP2_ERR_FLOODED) this.ctx.stats.http2Codec().outbound_control_flood.value++;
  };
  private readonly ctx: StreamContext;
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly timeouts: StreamTimeouts | null;
  private readonly headerConfig: RequestHeaderConfig;

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

    this.h2 = http2.createServer({
      settings: {
        enableConnectProtocol: hcm.allowConnect,
        maxHeaderListSize: hcm.maxRequestHeadersKb * 1024,
        maxConcurrentStreams: hcm.http2MaxConcurrentStreams,
        initialWindowSize: hcm.http2InitialStreamWindowSize,
      },
      maxSessionInvalidFrames: 1000,
      // Windows of megabytes per stream: room for what the peer may send before we read it.
      maxSessionMemory: 64,
    });
    this.h2.on("session", (s: ServerHttp2Session) => this.onSession(s));
    // No 'error' listener on this server: it never listens, and listen and accept are the only
    // sources of a net.Server 'error'. Session errors are handled per session (onSession).
  }

  /**
   * Count which side closed a downstream connection (`downstream_cx_destroy_local`/`_remote`), as
   * Envoy: the client's FIN before ours, or a reset by the client, is remote; anything else local.
   * Called by the listener once per accepted socket.
   */
  watchClose(socket: Socket): void {
    const connection: DownstreamConnection = {
      remote: false,
      activeStreams: 0,
      delayedCloseMs: this.hcm.delayedCloseTimeoutMs,
    };
    (socket as WatchedSocket)[CONNECTION] = connection;
    socket.prependOnceListener("end", () => {
      if (!socket.writableEnded) connection.remote = true;
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ECONNRESET" || err.code === "EPIPE") connection.remote = true;
    });
    // Registered before any codec's: the streams cut by the close are still active here.
    socket.once("close", () => {
      const stats = this.ctx.stats;
      const active = connection.activeStreams > 0;
      if (connection.remote) {
        stats.downstream_cx_destroy_remote.value++;
        if (active) stats.downstream_cx_destroy_remote_active_rq.value++;
      } else {
        stats.downstream_cx_destroy_local.value++;
        if (active) stats.downstream_cx_destroy_local_active_rq.value++;
      }
      if (active) stats.downstream_cx_destroy_active_rq.value++;
    });
  }

  /** HTTP/1.1 responses get `connection: close`, HTTP/2 sessions a GOAWAY; idle keep-alive sockets close. */
  drain(): void {
    this.ctx.draining = true;
    this.h1.closeIdleConnections();
    for (const s of this.sessions) if (!s.closed && !s.destroyed) s.close();
  }

  /** Stop the stream clock (the listener closes; its sockets are destroyed by the caller). */
  close(): void {
    this.timeouts?.close();
    this.h1.close();
  }

  private onSession(s: ServerHttp2Session): void {
    this.sessions.add(s);
    this.h2Connections.set(
      s,
      new H2Connection(s, this.ctx.stats, this.ctx.stats.http2Codec(), this.hcm.http2MaxOutboundFrames),
    );
    // The connection window (Envoy sends a WINDOW_UPDATE on stream 0 right after its SETTINGS).
    s.setLocalWindowSize(this.hcm.http2InitialConnectionWindowSize);
    s.on("error", this.onSessionError);
    // The session's own 'stream' event: a stream the client reset in the same read as its HEADERS
    // is already destroyed, and no longer knows its session.
    s.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw: string[]) =>
      this.onH2Stream(s, stream, headers, raw),
    );
    s.on("close", () => this.sessions.delete(s));
    // A client's GOAWAY makes node:http2 close the session (and the socket) before the client's FIN
    // arrives: the client closed it, as Envoy counts (it reads the FIN).
    const connection = (s.socket as WatchedSocket | undefined)?.[CONNECTION];
    if (connection !== undefined)
      s.once("goaway", () => {
        connection.remote = true;
      });
    // Connection idle_timeout: GOAWAY, then the session closes once its streams are done.
    if (this.hcm.idleTimeoutMs > 0)
      s.setTimeout(this.hcm.idleTimeoutMs, () => {
        this.ctx.stats.downstream_cx_idle_timeout.value++;
        s.close();
      });
    if (this.ctx.draining) s.close();
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
    stream.internal = mutateRequestHeaders(stream.headers, this.peer(socket), this.headerConfig);
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

  private onH2Stream(
    session: ServerHttp2Session,
    s: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    raw: string[],
  ): void {
    const h2Connection = this.h2Connections.get(session) ?? null;
    // Streams read in the same chunk as the one that closed the connection (rapid reset): dropped,
    // as Envoy drops what it had not processed when it closes.
    if (h2Connection?.aborted === true) return;
    const maxRequests = this.hcm.maxRequestsPerConnection;
    if (maxRequests > 0 && h2Connection !== null && ++h2Connection.requests >= maxRequests) {
      // Envoy: the Nth stream starts the drain (GOAWAY); the streams in flight finish.
      this.ctx.stats.downstream_cx_max_requests_reached.value++;
      session.close();
    }
    const stream = new H2Stream(s, this.ctx, h2Connection);
    const socket = session.socket;
    const method = String(headers[":method"] ?? "GET");
    stream.method = method;
    stream.path = String(headers[":path"] ?? "");
    stream.authority = String(headers[":authority"] ?? headers.host ?? "");
    if (socket !== undefined && this.ctx.onRequestComplete !== null) {
      stream.remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
      stream.localAddress = `${socket.localAddress}:${socket.localPort}`;
    }
    // Reset by the client in the same read as its HEADERS (rapid reset): nothing to route; its
    // 'close', still to come, counts it (rx reset, premature reset).
    if (s.destroyed) return;
    stream.pseudoOrder = pseudoOrder(raw);
    stream.headers = joinCookies(downstreamHeaders(raw));
    stream.internal = mutateRequestHeaders(stream.headers, this.peer(socket), this.headerConfig);
    if (stream.internal) stream.responseRequestId = forcedTraceId(stream.headers);
    if (stream.authority === "") {
      this.missingHost(stream);
      return;
    }
    if (method === "CONNECT") {
      const protocol = headers[":protocol"];
      if (typeof protocol === "string") {
        stream.upgrade = protocol.toLowerCase();
        this.router.routeUpgrade(stream, EMPTY);
      } else {
        this.ctx.stats.rq_total.value++;
        this.ctx.stats.no_route.value++;
        stream.addFlag("NR");
        stream.sendLocalReply(404, "", "route_not_found");
      }
      return;
    }
    if (!s.endAfterHeaders) {
      stream.watchBody(s);
      stream.body = guardedBody(s);
      s.once("trailers", (trailers: IncomingHttpHeaders) => {
        stream.requestTrailers = rawFromH2Object(trailers);
      });
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

/** The pseudo-headers of an h2 request's raw list, in order (they come first). */
function pseudoOrder(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length && (raw[i] as string).charCodeAt(0) === 58; i += 2)
    out.push(raw[i] as string);
  return out;
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
