import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { ignoreErrorHandledOnClose } from "../../lib/errors.js";
import type { RawHeaders } from "../conn_pool/types.js";
import { hasRawHeader } from "./headers.js";
import {
  CONNECTION,
  type DownstreamProtocol,
  DownstreamStream,
  type StreamContext,
  type WatchedSocket,
} from "./stream.js";

/**
 * Connections whose current response ends them (`connection: close`): a codec error that follows
 * on them (the rest of a request we answered early) gets no second response.
 */
export const closingSockets = new WeakSet<object>();

/** Envoy's `delayed_close_timeout` default, for a socket no connection manager watches. */
const DEFAULT_DELAYED_CLOSE_MS = 1000;

/**
 * Close a connection whose last response said `connection: close` as Envoy does: keep reading (and
 * dropping) what the client sends, and close when the client closes (its FIN ends our side too:
 * these sockets are not half-open) or after `delayed_close_timeout`, whichever comes first. Only
 * connections that end take this path (one timer each); keep-alive responses never do.
 */
export function closeAfterDelay(socket: Socket): void {
  if (socket.destroyed || delayedClose.has(socket)) return;
  delayedClose.add(socket);
  const ms = (socket as WatchedSocket)[CONNECTION]?.delayedCloseMs ?? DEFAULT_DELAYED_CLOSE_MS;
  if (ms === 0) {
    // Envoy: 0 disables the delay; the connection closes once the reply is flushed.
    socket.end(() => socket.destroy());
    return;
  }
  const timer = setTimeout(destroySocket, ms, socket);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
  socket.resume();
}

const delayedClose = new WeakSet<Socket>();

function destroySocket(socket: Socket): void {
  socket.destroy();
}

/** Replaces node:http's `socket.destroySoon()` after a response that ends the connection. */
function destroyAfterDelay(this: Socket): void {
  closeAfterDelay(this);
}

/** A request served by node:http (HTTP/1.0 and HTTP/1.1). */
export class H1Stream extends DownstreamStream {
  /**
   * The connection manager is still handling the request's head (Envoy: the codec is dispatching
   * the bytes read): a response sent now is a local reply that closes with the delay.
   */
  dispatching = false;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    protocol: DownstreamProtocol,
    ctx: StreamContext,
  ) {
    super(protocol, ctx);
    this.attachConnection(req.socket as WatchedSocket);
    req.on("error", ignoreErrorHandledOnClose);
    res.on("error", ignoreErrorHandledOnClose);
    res.on("close", () => this.closed());
  }

  protected get scheme(): string {
    return "http";
  }

  onceDrain(cb: () => void): void {
    this.res.once("drain", cb);
  }

  acceptUpgrade(): Duplex {
    throw new Error("not an upgrade stream");
  }

  /**
   * The head as Envoy's HTTP/1 codec writes it: no `connection`/`keep-alive` header on a persistent
   * HTTP/1.1 connection, `connection: close` when this response ends it (draining, a request not
   * read to its end, a client that asked to close, HTTP/1.0 without a length), `connection:
   * keep-alive` for an HTTP/1.0 client that keeps it; then the framing the body needs:
   * `content-length: 0` for a complete response without one (not for HEAD, 204, 304),
   * `transfer-encoding: chunked` for a body of unknown length on HTTP/1.1.
   */
  protected writeHead(status: number, headers: RawHeaders, endStream: boolean): void {
    const res = this.res;
    const noBody = status < 200 || status === 204 || status === 304 || this.method === "HEAD";
    const length = noBody || hasRawHeader(headers, "content-length");
    const http10 = this.protocol === "HTTP/1.0";
    if (
      this.ctx.draining ||
      this.closeConnection ||
      !res.shouldKeepAlive ||
      (http10 && !length && !endStream)
    ) {
      headers.push("connection", "close");
      const socket = this.req.socket;
      closingSockets.add(socket);
      // node:http ends the connection after this response with destroySoon(). Envoy delays that
      // close unless the response comes after the request was dispatched (not a reply made while
      // reading it: no route, direct response, no healthy host, missing host), the client asked
      // for the close (`connection: close`, HTTP/1.0) and the request is complete (or is HTTP/1.0
      // with a response framed by the close): then nothing can race (measured on Envoy 1.40).
      const skipDelay =
        !this.dispatching &&
        !res.shouldKeepAlive &&
        (this.requestComplete || (http10 && !hasRawHeader(headers, "content-length")));
      if (!skipDelay) socket.destroySoon = destroyAfterDelay;
    } else {
      // node:http would add `Connection: keep-alive` and `Keep-Alive: timeout=N`.
      res.removeHeader("connection");
      if (http10) headers.push("connection", "keep-alive");
    }
    if (!length) {
      if (endStream) headers.push("content-length", "0");
      else if (!http10) headers.push("transfer-encoding", "chunked");
    }
    res.writeHead(status, headers);
    if (endStream) res.end();
  }

  protected writeBody(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }

  /** Trailers are dropped: Envoy's HTTP/1 codec writes none unless `enable_trailers` (not supported). */
  protected endBody(_trailers: RawHeaders | null): void {
    this.res.end();
  }

  protected endWith(body: string): void {
    this.res.end(body);
  }

  protected destroyStream(): void {
    this.res.destroy();
  }
}
