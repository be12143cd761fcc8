/**
 * The HTTP connection manager (Envoy's HCM) of one listener: an HTTP/1.1 server and an h2c server
 * that the listener hands sockets to, turning every request (node:http request/response, Upgrade
 * socket, or HTTP/2 stream) into a DownstreamStream with Envoy's request header mutation, then
 * handing it to the router. Codec errors get Envoy's local replies (400, 431, 426).
 */
import http, { type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import http2, {
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import type { Socket } from "node:net";
import { ignoreErrorHandledOnClose } from "../../lib/errors.js";
import type { AccessLogEntry } from "../access_log/entry.js";
import type { ConfigVersion, HttpConnectionManagerConfig } from "../config/model.js";
import { rawFromH2Object } from "../conn_pool/h2_headers.js";
import type { Router } from "../router/router.js";
import { downstreamHeaders, joinCookies } from "./downstream_headers.js";
import { H1RawStream } from "./h1_raw_stream.js";
import { closeAfterDelay, closingSockets, H1Stream } from "./h1_stream.js";
import { guardedBody, H2Stream } from "./h2_stream.js";
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
  type DownstreamProtocol,
  type DownstreamStream,
  type StreamContext,
  type WatchedSocket,
} from "./stream.js";
import { StreamTimeouts } from "./stream_timeouts.js";

const EMPTY = Buffer.alloc(0);

/** Envoy's `max_headers_count` default: a request with more headers gets 431. */
const MAX_HEADERS_COUNT = 100;

export class ConnectionManager {
  readonly h1: http.Server;
  readonly h2: Http2Server;
  private readonly ctx: StreamContext;
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly timeouts: StreamTimeouts | null;
  private readonly headerConfig: RequestHeaderConfig;

  /** `dialect`: the config file's; which clients are internal depends on it (./request_headers.ts). */
  constructor(
    private readonly hcm: HttpConnectionManagerConfig,
    private readonly router: Router,
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
    this.h1 = http.createServer({
      maxHeaderSize: hcm.maxRequestHeadersKb * 1024,
      requireHostHeader: false,
      keepAliveTimeout: hcm.idleTimeoutMs,
      requestTimeout: 0,
      // Envoy's request_timeout runs from the first byte: node:http times the head (408 through
      // clientError), the stream clock the body. Node checks every connectionsCheckingInterval.
      headersTimeout: hcm.requestTimeoutMs,
      ...(hcm.requestTimeoutMs > 0
        ? { connectionsCheckingInterval: Math.min(1000, Math.max(50, hcm.requestTimeoutMs >> 2)) }
        : {}),
    });
    // node:http enforces headersTimeout from an interval it starts on 'listening'. This server never
    // listens (the listener hands it sockets), so it is told it does, only when the check is needed;
    // close() stops the interval.
    if (hcm.requestTimeoutMs > 0) this.h1.emit("listening");
    this.h1.on("request", (req: IncomingMessage, res: ServerResponse) => this.onH1Request(req, res));
    // `Expect: 100-continue`: Envoy answers the 100 itself and counts it as a response (1xx, completed).
    this.h1.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
      res.writeContinue();
      stats.countResponse(100);
      this.onH1Request(req, res);
    });
    this.h1.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) =>
      this.onH1Upgrade(req, socket, head),
    );
    this.h1.on("connect", (req: IncomingMessage, socket: Socket) => this.onH1Connect(req, socket));
    this.h1.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) =>
      this.onClientError(err, socket),
    );
    // Only keep-alive waits time out on this server (keepAliveTimeout = the connection idle_timeout).
    this.h1.on("timeout", (socket: Socket) => {
      stats.downstream_cx_idle_timeout.value++;
      socket.destroy();
    });

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
    this.h2.on(
      "stream",
      (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw: string[]) =>
        this.onH2Stream(stream, headers, raw),
    );
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
    // The connection window (Envoy sends a WINDOW_UPDATE on stream 0 right after its SETTINGS).
    s.setLocalWindowSize(this.hcm.http2InitialConnectionWindowSize);
    s.on("error", ignoreErrorHandledOnClose);
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

  private onH1Request(req: IncomingMessage, res: ServerResponse): void {
    const protocol: DownstreamProtocol = req.httpVersionMinor === 0 ? "HTTP/1.0" : "HTTP/1.1";
    const stream = new H1Stream(req, res, protocol, this.ctx);
    stream.dispatching = true;
    this.dispatchH1(stream, req);
    stream.dispatching = false;
  }

  /** The request's head is in: answer it or route it (a reply sent from here is sent while dispatching). */
  private dispatchH1(stream: H1Stream, req: IncomingMessage): void {
    if (!this.fillH1(stream, req)) return;
    if (stream.authority === "") {
      this.missingHost(stream);
      return;
    }
    const h = req.headers;
    const te = h["transfer-encoding"];
    if (te !== undefined && !/(^|,)\s*chunked\s*$/i.test(te)) {
      // Envoy's codec only knows chunked: 501 before routing, a protocol error closing the connection.
      this.ctx.stats.downstream_cx_protocol_error.value++;
      stream.requestComplete = false;
      stream.closeConnection = true;
      stream.sendLocalReply(501, "Not Implemented", "http1.invalid_transfer_encoding");
      return;
    }
    if (te !== undefined || (h["content-length"] !== undefined && h["content-length"] !== "0")) {
      stream.body = req;
      // Registered before the router's listener: trailers are known when the body's 'end' arrives.
      req.once("end", () => {
        if (req.rawTrailers.length > 0) stream.requestTrailers = req.rawTrailers;
      });
      stream.watchBody(req);
    }
    this.router.route(stream);
  }

  private onH1Upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const type = (req.headers.upgrade ?? "").toLowerCase();
    if (type === "h2c") {
      // Envoy's codec ignores `Upgrade: h2c`: serve it as the plain HTTP/1.1 request it also is.
      this.redispatchWithoutUpgrade(req, socket, head);
      return;
    }
    const protocol: DownstreamProtocol = req.httpVersionMinor === 0 ? "HTTP/1.0" : "HTTP/1.1";
    const stream = new H1RawStream(socket, protocol, this.ctx);
    if (!this.fillH1(stream, req, true)) return;
    if (stream.authority === "") {
      this.missingHost(stream);
      return;
    }
    stream.upgrade = type;
    // The request of an upgrade goes on as the tunnel: any response comes before it is complete.
    stream.requestComplete = false;
    this.router.routeUpgrade(stream, head);
  }

  /** A CONNECT request: no route can match it (Envoy needs a `connect_matcher`): 404. */
  private onH1Connect(req: IncomingMessage, socket: Socket): void {
    const stream = new H1RawStream(socket, "HTTP/1.1", this.ctx);
    stream.method = "CONNECT";
    stream.path = req.url ?? "";
    stream.authority = req.headers.host ?? "";
    this.ctx.stats.rq_total.value++;
    this.ctx.stats.no_route.value++;
    stream.addFlag("NR");
    stream.sendLocalReply(404, "", "route_not_found");
  }

  /** Request line and headers into `stream`; false if the request was answered (431, 426, 400). */
  private fillH1(stream: DownstreamStream, req: IncomingMessage, upgrade = false): boolean {
    const socket = req.socket;
    stream.method = req.method ?? "GET";
    stream.path = req.url ?? "/";
    // Absolute form (`GET http://host/path`): routed on the path, the target's host is the authority.
    const absolute = absoluteTarget(stream.path);
    if (req.rawHeaders.length > 2 * MAX_HEADERS_COUNT) {
      // Envoy's codec stops at max_headers_count (100): a protocol error, the connection closes.
      this.ctx.stats.downstream_cx_protocol_error.value++;
      stream.headers = [];
      stream.requestComplete = false;
      stream.closeConnection = true;
      stream.sendLocalReply(431, "Request Header Fields Too Large", "http1.too_many_headers");
      return false;
    }
    // Addresses only feed the access log: no strings built per request without one.
    if (this.ctx.onRequestComplete !== null) {
      stream.remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
      stream.localAddress = `${socket.localAddress}:${socket.localPort}`;
    }
    let authority = req.headers.host;
    if (absolute !== null) {
      stream.path = absolute.path;
      authority = absolute.authority;
    }
    if (stream.protocol === "HTTP/1.0") {
      if (!this.hcm.acceptHttp10) {
        // A protocol error in Envoy's codec, raised before the request is complete.
        this.ctx.stats.downstream_cx_protocol_error.value++;
        stream.headers = req.rawHeaders;
        stream.requestComplete = false;
        stream.closeConnection = true;
        stream.sendLocalReply(426, "Upgrade Required", "low_version");
        return false;
      }
      if (authority === undefined && this.hcm.defaultHostForHttp10 !== null)
        authority = this.hcm.defaultHostForHttp10;
    }
    stream.authority = authority ?? "";
    stream.headers = downstreamHeaders(req.rawHeaders, upgrade);
    stream.internal = mutateRequestHeaders(stream.headers, this.peer(socket), this.headerConfig);
    if (stream.internal) stream.responseRequestId = forcedTraceId(stream.headers);
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

  private onH2Stream(s: ServerHttp2Stream, headers: IncomingHttpHeaders, raw: string[]): void {
    const stream = new H2Stream(s, this.ctx);
    const session = s.session;
    const socket = session?.socket;
    const method = String(headers[":method"] ?? "GET");
    stream.method = method;
    stream.path = String(headers[":path"] ?? "");
    stream.authority = String(headers[":authority"] ?? headers.host ?? "");
    if (socket !== undefined && this.ctx.onRequestComplete !== null) {
      stream.remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
      stream.localAddress = `${socket.localAddress}:${socket.localPort}`;
    }
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
   * A codec error: Envoy answers with the status text as body and closes the connection
   * (`400 Bad Request`, `431 Request Header Fields Too Large`, `408` for a request timeout).
   */
  private onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (err.code === "ECONNRESET" || err.code === "EPIPE" || !socket.writable || socket.destroyed) {
      socket.destroy();
      return;
    }
    if (closingSockets.has(socket)) {
      // Already answered (e.g. a 501 before the body we could not parse): close once it is sent.
      closeAfterDelay(socket);
      return;
    }
    const stats = this.ctx.stats;
    // Envoy's codec had begun a request: it counts, and it is answered before it is complete, then
    // cut by the close.
    stats.downstream_rq_total.value++;
    stats.downstream_rq_http1_total.value++;
    stats.downstream_rq_response_before_rq_complete.value++;
    socket.once("close", () => stats.downstream_rq_rx_reset.value++);
    let status: number;
    let body: string;
    if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
      // request_timeout expired while the head was still arriving (see headersTimeout).
      stats.downstream_rq_timeout.value++;
      status = 408;
      body = "request timeout";
    } else {
      stats.downstream_cx_protocol_error.value++;
      status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
      body = STATUS_CODES[status] ?? "";
    }
    stats.countResponse(status);
    socket.write(
      `HTTP/1.1 ${status} ${body}\r\ncontent-length: ${body.length}\r\ncontent-type: text/plain\r\n` +
        `date: ${new Date().toUTCString()}\r\nserver: ${this.hcm.serverName}\r\nconnection: close\r\n\r\n${body}`,
    );
    closeAfterDelay(socket);
  }

  /** Re-parse an `Upgrade: h2c` request without its upgrade headers on the same socket. */
  private redispatchWithoutUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    let text = `${req.method} ${req.url} HTTP/1.${req.httpVersionMinor}\r\n`;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const lower = (raw[i] as string).toLowerCase();
      if (lower === "upgrade" || lower === "http2-settings" || lower === "connection") continue;
      text += `${raw[i]}: ${raw[i + 1]}\r\n`;
    }
    socket.unshift(Buffer.concat([Buffer.from(`${text}\r\n`, "latin1"), head]));
    this.h1.emit("connection", socket);
  }
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
