import http, { type IncomingMessage, type ServerResponse } from "node:http";
import http2, { type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from "node:http2";
import net, { type AddressInfo, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { DestinationStream, Logger } from "pino";
import { ignoreErrorHandledOnClose } from "../lib/errors.js";
import { sniff } from "../lib/h2c_sniff.js";
import { createHandler, type RequestHandler } from "./app.js";
import { clientErrorHandler } from "./client_error.js";
import { createFastHttp1 } from "./http1.js";
import { createLogger } from "./log.js";
import { EchoMetrics } from "./metrics.js";
import { type EchoConfig, resolveConfig } from "./settings.js";
import type { EchoContext } from "./state.js";
import { loadTls } from "./tls.js";
import { createTlsPort } from "./tls_port.js";
import { WsEcho } from "./ws.js";

/** Options of `startEcho`: any config field (defaults as in settings.ts; env is NOT read), plus plumbing. */
export interface EchoOptions extends Partial<EchoConfig> {
  /** Where log lines go (default: stdout). */
  logDestination?: DestinationStream;
  /** Register Node process metrics (default true). */
  defaultMetrics?: boolean;
}

/** A running echo service. */
export interface EchoServer {
  /** Bound port (useful with `port: 0`). */
  readonly port: number;
  /** Bound address. */
  readonly address: string;
  /** `http://<address>:<port>` (IPv6 in brackets). */
  readonly url: string;
  /** Bound TLS port, when TLS is on (`tls` option). */
  readonly tlsPort: number | undefined;
  /** `https://<address>:<tlsPort>`, when TLS is on. */
  readonly tlsUrl: string | undefined;
  readonly context: EchoContext;
  /**
   * Graceful shutdown: stop accepting, let in-flight requests finish (with `Connection: close`),
   * close WebSockets with 1001, send HTTP/2 GOAWAY, close idle keep-alive connections; after
   * `drainTimeoutMs` cut whatever is left. Resolves when every connection is gone. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Starts the echo service: one TCP port serving HTTP/1.1, h2c prior knowledge (sniffed from the
 * connection preface), WebSocket over Upgrade and over HTTP/2 extended CONNECT; with `tls`, a second
 * port serving the same over TLS, HTTP/2 or HTTP/1.1 chosen by ALPN.
 */
export async function startEcho(options: EchoOptions = {}): Promise<EchoServer> {
  const { logDestination, defaultMetrics, ...partial } = options;
  const config = resolveConfig(partial);
  const tlsOptions = config.tls === undefined ? undefined : loadTls(config.tls);
  const logger: Logger = createLogger(config.instance, logDestination);
  const ctx: EchoContext = {
    config,
    metrics: new EchoMetrics(defaultMetrics ?? true),
    logger,
    port: config.port,
    healthy: true,
    fail: { remaining: 0, status: 503 },
    draining: false,
  };
  const handler = createHandler(ctx);
  const ws = new WsEcho(ctx);

  // HTTP/1.x. `plain` has no `upgrade` listener: a request with an Upgrade header that is not our
  // WebSocket (e.g. curl --http2's `Upgrade: h2c`) is re-parsed there and answered as plain HTTP/1.1.
  const h1 = createHttp1(ctx, handler);
  const plain = createHttp1(ctx, handler);
  // `socket` is the port's socket, whose 'error' listener (below) stays through the upgrade.
  h1.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!ctx.draining && WsEcho.isHandshake(req)) ws.upgrade(req, socket, head);
    else reparse(plain, req, socket as Socket, head);
  });
  // Every HTTP/1.x connection starts on our codec, which answers GET / and POST /echo itself and
  // hands a connection to `h1` (node:http) at its first other request, with the bytes it read.
  const toNode = (socket: Socket, bytes: Buffer): void => {
    socket.unshift(bytes);
    h1.emit("connection", socket);
    socket.resume();
  };
  const fast = createFastHttp1(ctx, toNode, toNode);

  // HTTP/2 (h2c prior knowledge) with RFC 8441 extended CONNECT.
  const h2 = http2.createServer(
    { settings: { enableConnectProtocol: true, maxHeaderListSize: config.maxHeaderBytes } },
    handler as (req: Http2ServerRequest, res: Http2ServerResponse) => void,
  );
  h2.on("connect", (req: Http2ServerRequest, res: Http2ServerResponse) => {
    if (!ws.connect(req, res)) handler(req, res);
  });
  h2.on("checkContinue", continueUnlessTooLarge(ctx, handler));
  const sessions = new Set<Http2Session>();
  h2.on("session", (session: Http2Session) => {
    sessions.add(session);
    session.on("error", ignoreErrorHandledOnClose);
    session.on("close", () => sessions.delete(session));
    if (ctx.draining) session.close();
  });

  // Every TCP connection of both ports, and those not yet handed to an HTTP server (closed at once on close()).
  const sockets = new Set<Socket>();
  const pending = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    pending.add(socket);
    socket.on("error", ignoreErrorHandledOnClose);
    socket.on("close", () => {
      sockets.delete(socket);
      pending.delete(socket);
    });
  };

  // The plain port: sniff each connection and hand it to the right server.
  const outer = net.createServer({ noDelay: true }, (socket) => {
    track(socket);
    // No time limit on the first bytes (like zcong's Go server): a silent connection may wait.
    sniff(socket, 0, (protocol, peeked) => {
      pending.delete(socket);
      socket.unshift(peeked);
      if (protocol === "http2") {
        h2.emit("connection", socket); // the session reads the buffered preface itself
      } else {
        fast.emit("connection", socket);
        socket.resume(); // deliver the buffered bytes to the parser
      }
    });
  });

  // The TLS port: node:tls does the handshake, then ALPN picks the server (no ALPN: HTTP/1.1).
  const secure =
    tlsOptions === undefined
      ? undefined
      : createTlsPort(tlsOptions, ctx, {
          accepted: track,
          handshakeDone: (tcp) => pending.delete(tcp),
          h2: (socket) => h2.emit("connection", socket),
          http1: (socket) => fast.emit("connection", socket),
        });

  // Both ports or neither: when one cannot be had, the other is let go before the error is thrown.
  const [plainBind, tlsBind] = await Promise.allSettled([
    listen(outer, config.port, config.host),
    secure === undefined ? undefined : listen(secure, config.tls?.port ?? 0, config.host),
  ]);
  if (plainBind.status === "rejected" || tlsBind.status === "rejected") {
    await Promise.all([outer, secure].map(closed));
    throw plainBind.status === "rejected" ? plainBind.reason : (tlsBind as PromiseRejectedResult).reason;
  }
  const bound = plainBind.value;
  const tlsBound = tlsBind.value;
  for (const server of [outer, secure]) server?.on("error", (err) => logger.error({ err }, "listener error"));
  ctx.port = bound.port;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      ctx.draining = true;
      const idle = (): void => {
        fast.closeIdleConnections();
        h1.closeIdleConnections();
        plain.closeIdleConnections();
      };
      const ticker = setInterval(idle, 50);
      const deadline = setTimeout(() => {
        ws.terminateAll();
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
      }, config.drainTimeoutMs);
      Promise.all([outer, secure].map(closed)).then(() => {
        clearInterval(ticker);
        clearTimeout(deadline);
        fast.close();
        h1.close();
        plain.close();
        resolve();
      });
      for (const socket of pending) socket.destroy();
      ws.closeAll();
      for (const session of sessions) session.close();
      idle();
    });
    return closing;
  };

  return {
    port: bound.port,
    address: bound.address,
    url: `http://${urlHost(bound)}:${bound.port}`,
    tlsPort: tlsBound?.port,
    tlsUrl: tlsBound === undefined ? undefined : `https://${urlHost(tlsBound)}:${tlsBound.port}`,
    context: ctx,
    close,
  };
}

/** Binds `server`; rejects when the port cannot be had (EADDRINUSE, EACCES). */
function listen(server: net.Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.removeListener("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Resolves once `server` (if any) has closed and all its connections are gone (at once if it never listened). */
function closed(server: net.Server | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (server === undefined) resolve();
    else server.close(() => resolve());
  });
}

/** An address as a URL host: IPv6 in brackets. */
function urlHost(bound: AddressInfo): string {
  return bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
}

function createHttp1(ctx: EchoContext, handler: RequestHandler): http.Server {
  const server = http.createServer(
    {
      maxHeaderSize: ctx.config.maxHeaderBytes,
      // Like zcong (Go net/http without IdleTimeout): idle keep-alive connections are never closed by
      // the server, so proxies' connection pools never race a server-side idle close.
      keepAliveTimeout: 0,
      noDelay: true,
    },
    handler as (req: IncomingMessage, res: ServerResponse) => void,
  );
  server.on("clientError", clientErrorHandler(ctx));
  server.on("checkContinue", continueUnlessTooLarge(ctx, handler));
  // Connections are handed over with emit("connection"), never via listen(): start the connection
  // bookkeeping (header/request timeouts, closeIdleConnections) that `listening` normally starts.
  server.emit("listening");
  return server;
}

/** `Expect: 100-continue`: no 100 for a body already known to be over the limit (the route answers 413). */
function continueUnlessTooLarge(ctx: EchoContext, handler: RequestHandler) {
  return (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse): void => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (!(declared > ctx.config.maxBodyBytes)) res.writeContinue();
    handler(req, res);
  };
}

/** Re-feeds an upgrade request the WebSocket side declined to an HTTP server without upgrade handling. */
function reparse(target: http.Server, req: IncomingMessage, socket: Socket, head: Buffer): void {
  let text = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  text += "\r\n";
  const bytes = Buffer.from(text, "latin1");
  socket.pause();
  socket.unshift(head.length > 0 ? Buffer.concat([bytes, head]) : bytes);
  target.emit("connection", socket);
  socket.resume();
}
