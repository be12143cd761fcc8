import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse, ServerHttp2Stream } from "node:http2";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer } from "ws";
import { ignoreErrorHandledOnClose } from "../lib/errors.js";
import { baseHeaders, type EchoRequest, newExchange, protocolOf } from "./exchange.js";
import type { EchoContext } from "./state.js";

const WS_PATH = "/ws";
const KEY = /^[+/0-9A-Za-z]{22}==$/;
/** Stop reading from a peer while this much echo output is still queued. */
const HIGH_WATER = 1024 * 1024;
const CLOSE_TIMEOUT_MS = 30_000;
/** Reason sent with a `?close=CODE` close. */
const CLOSE_REASON = "closed by echo";
const EMPTY = Buffer.alloc(0);

/** `ws` internals used to run a WebSocket over an HTTP/2 stream (the same calls `ws`'s own server makes). */
interface ServerSideWebSocket {
  setSocket(
    socket: Duplex,
    head: Buffer,
    options: { maxPayload: number; allowSynchronousEvents: boolean },
  ): void;
}
type WebSocketCtor = new (
  address: null,
  protocols: undefined,
  options: { autoPong: boolean; maxPendingAutoPongs: number; closeTimeout: number },
) => WebSocket;

/**
 * GET /ws: WebSocket echo over HTTP/1.1 Upgrade and over HTTP/2 extended CONNECT (RFC 8441).
 * Any origin, no greeting, same opcode back (text stays text, binary stays binary), pings answered,
 * messages over `maxWsMessageBytes` close with 1009. `?close=CODE` (1000 or 3000-4999) makes the
 * server close with CODE after echoing the first message, to test server-initiated closes; any other
 * value is refused with close 1008.
 */
export class WsEcho {
  private readonly wss: WebSocketServer;
  private readonly open = new Set<WebSocket>();

  constructor(private readonly ctx: EchoContext) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: ctx.config.maxWsMessageBytes,
    });
    this.wss.on("headers", (headers: string[], req: IncomingMessage) => {
      const identity = baseHeaders(newExchange(ctx, req, undefined as never));
      for (const [name, value] of Object.entries(identity)) {
        if (name !== "connection") headers.push(`${name}: ${String(value)}`);
      }
    });
    // No 'error' listener: with `noServer` the WebSocketServer has no server of its own to forward from.
  }

  get size(): number {
    return this.open.size;
  }

  /** True when `req` is a WebSocket handshake this service accepts (else answer it as plain HTTP). */
  static isHandshake(req: IncomingMessage): boolean {
    const h = req.headers;
    return (
      req.method === "GET" &&
      pathOf(req) === WS_PATH &&
      typeof h.upgrade === "string" &&
      h.upgrade.toLowerCase() === "websocket" &&
      h["sec-websocket-version"] === "13" &&
      typeof h["sec-websocket-key"] === "string" &&
      KEY.test(h["sec-websocket-key"].trim())
    );
  }

  /** HTTP/1.1 `upgrade` event for a request that passed `isHandshake`. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.run(ws, "HTTP/1.1", closeControl(req.url)));
  }

  /**
   * HTTP/2 `connect` event. Returns false when the stream is not an RFC 8441 WebSocket request for
   * /ws, so the caller answers it like any other request.
   */
  connect(req: Http2ServerRequest, res: Http2ServerResponse): boolean {
    if (req.headers[":protocol"] !== "websocket" || pathOf(req) !== WS_PATH) return false;
    const x = newExchange(this.ctx, req, res);
    const stream: ServerHttp2Stream = req.stream;
    const headers = baseHeaders(x);
    if (req.headers["sec-websocket-version"] !== "13") {
      stream.respond({ ":status": 400, ...headers, "sec-websocket-version": "13" }, { endStream: true });
      this.ctx.metrics.request("/ws", 400, x.proto);
      return true;
    }
    const offered = req.headers["sec-websocket-protocol"];
    const protocol = typeof offered === "string" ? offered.split(",")[0]?.trim() : undefined;
    if (protocol) headers["sec-websocket-protocol"] = protocol;
    stream.respond({ ":status": 200, ...headers });
    this.ctx.metrics.request("/ws", 200, x.proto);
    const ws = new (WebSocket as unknown as WebSocketCtor)(null, undefined, {
      autoPong: true,
      maxPendingAutoPongs: 60,
      closeTimeout: CLOSE_TIMEOUT_MS,
    });
    (ws as unknown as ServerSideWebSocket).setSocket(stream, EMPTY, {
      maxPayload: this.ctx.config.maxWsMessageBytes,
      allowSynchronousEvents: true,
    });
    this.run(ws, protocolOf(req), closeControl(req.url));
    return true;
  }

  /** Echo loop with backpressure, metrics and tracking. */
  private run(ws: WebSocket, protocol: string, closeCode: number | null): void {
    const { metrics } = this.ctx;
    if (protocol === "HTTP/1.1") metrics.request("/ws", 101, protocol);
    this.open.add(ws);
    metrics.websocketOpened(protocol);
    if (this.ctx.draining) ws.close(1001, "server shutting down");
    else if (Number.isNaN(closeCode)) ws.close(1008, "close must be 1000 or 3000-4999");
    const closeAfterEcho = Number.isNaN(closeCode) ? null : closeCode;
    ws.on("error", ignoreErrorHandledOnClose);
    ws.on("close", () => {
      this.open.delete(ws);
      metrics.websocketClosed(protocol);
    });
    let paused = false;
    const written = (): void => {
      if (paused && ws.bufferedAmount < HIGH_WATER / 2) {
        paused = false;
        ws.resume();
      }
    };
    ws.on("message", (data, isBinary) => {
      metrics.websocketMessage(protocol);
      ws.send(data as Buffer, { binary: isBinary }, written);
      if (closeAfterEcho !== null) ws.close(closeAfterEcho, CLOSE_REASON);
      if (!paused && ws.bufferedAmount > HIGH_WATER) {
        paused = true;
        ws.pause();
      }
    });
  }

  /** Graceful: close frame 1001 (Going Away) to every open WebSocket. */
  closeAll(): void {
    for (const ws of this.open) ws.close(1001, "server shutting down");
  }

  /** Forced: drop every WebSocket without a closing handshake. */
  terminateAll(): void {
    for (const ws of this.open) ws.terminate();
  }
}

/** `?close=CODE` of a /ws URL: null when absent, NaN when not a code a server may send. */
function closeControl(url: string | undefined): number | null {
  const q = url?.indexOf("?") ?? -1;
  if (url === undefined || q === -1) return null;
  const raw = new URLSearchParams(url.slice(q + 1)).get("close");
  if (raw === null) return null;
  const code = /^\d{4}$/.test(raw) ? Number(raw) : Number.NaN;
  return code === 1000 || (code >= 3000 && code <= 4999) ? code : Number.NaN;
}

function pathOf(req: EchoRequest): string {
  const url = req.url ?? "";
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}
