import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { H1ActiveStream, H1Connection, RequestHead } from "../../lib/http1/server_connection.js";
import type { RawHeaders } from "../api/headers.js";
import { hasRawHeader } from "../api/headers.js";
import {
  CONNECTION,
  type DownstreamProtocol,
  DownstreamStream,
  type StreamContext,
  type WatchedSocket,
} from "./stream.js";

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
  // The client's FIN ends our side too, even on a socket that allows half-open connections.
  socket.once("end", () => socket.end());
  socket.resume();
}

const delayedClose = new WeakSet<Socket>();

function destroySocket(socket: Socket): void {
  socket.destroy();
}

/** The reason phrase of a status line (Envoy's: "Unknown" for a code it has none for). */
export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? "Unknown";
}

/**
 * Most bytes a response's writes hold while corked until the end of the loop iteration before the
 * producer is told to wait (Envoy's per-connection buffer limit).
 */
const CORKED_LIMIT = 1024 * 1024;

function uncorkAtIterationEnd(stream: H1Stream): void {
  stream.flushCorked();
}

/** The value of a `content-length` header: -1 without one, -2 when it is not a number. */
function contentLength(headers: RawHeaders): number {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name.length === 14 && (name === "content-length" || name.toLowerCase() === "content-length")) {
      const n = Number(headers[i + 1]);
      return Number.isSafeInteger(n) && n >= 0 ? n : -2;
    }
  }
  return -1;
}

/** CR, LF or NUL in a header name or value would split the head: such a header is not written. */
const INVALID = /[\r\n\0]/;

/**
 * A request served by the HTTP/1 codec (./h1_codec.ts), HTTP/1.0 and HTTP/1.1, its response written
 * on the connection's socket by hand. The codec reads the next request only when this one is over.
 */
export class H1Stream extends DownstreamStream implements H1ActiveStream {
  /**
   * The connection manager is still handling the request's head (Envoy: the codec is dispatching
   * the bytes read): a response sent now is a local reply that closes with the delay.
   */
  dispatching = false;
  /** The status line says HTTP/1.0 (an accepted HTTP/1.0 request, as Envoy answers it). */
  statusLine10 = false;
  /** The connection's last request (`max_requests_per_connection`): its response closes it. */
  lastRequest = false;
  /** The response head, held until the first body bytes so that both go out in one write. */
  private heldHead: string | null = null;
  /** The response body is chunked on the wire. */
  private chunked = false;
  /** The response has no body on the wire (HEAD, 1xx, 204, 304): body bytes are dropped. */
  private noBody = false;
  /** The response's `content-length` (-1: none, -2: not a number): whether a body write is its last. */
  private bodyLength = -1;
  /** Body writes are corked until the end of this loop iteration (writeBody). */
  private corked = false;
  /** This response ends the connection. */
  private closing = false;
  /** ... and the close does not wait for `delayed_close_timeout`. */
  private closeAtOnce = false;

  constructor(
    readonly conn: H1Connection,
    readonly head: RequestHead,
    protocol: DownstreamProtocol,
    ctx: StreamContext,
  ) {
    super(protocol, ctx);
    this.attachConnection(conn.socket as WatchedSocket);
    conn.begin(this);
  }

  onceDrain(cb: () => void): void {
    this.conn.socket.once("drain", cb);
  }

  acceptUpgrade(): Duplex {
    throw new Error("not an upgrade stream");
  }

  /** The codec: the socket closed with this stream in progress. */
  socketClosed(): void {
    this.closed();
  }

  /**
   * The codec: the request body was malformed after the request was routed. Envoy's codec error:
   * the producer lets go, 400 (or a reset once the response started), and the connection closes.
   */
  bodyError(): void {
    if (this.ended || this.aborted) return;
    this.ctx.stats.downstream_cx_protocol_error.value++;
    this.addFlag("DPE");
    this.closeConnection = true;
    this.abortProducer();
    this.sendLocalReply(400, "Bad Request", "http1.codec_error");
  }

  /**
   * The head as Envoy's HTTP/1 codec writes it: no `connection`/`keep-alive` header on a persistent
   * HTTP/1.1 connection, `connection: close` when this response ends it (draining, a request not
   * read to its end, a client that asked to close, HTTP/1.0 without a length, the connection's
   * last request), `connection: keep-alive` for an HTTP/1.0 client that keeps it; then the framing
   * the body needs: `content-length: 0` for a complete response without one (not for HEAD, 204,
   * 304), `transfer-encoding: chunked` for a body of unknown length on HTTP/1.1.
   */
  protected writeHead(status: number, headers: RawHeaders, endStream: boolean): void {
    const noBody = status < 200 || status === 204 || status === 304 || this.method === "HEAD";
    this.bodyLength = contentLength(headers);
    const length = noBody || this.bodyLength !== -1;
    const http10 = this.protocol === "HTTP/1.0";
    const keepAlive = this.head.keepAlive;
    this.noBody = noBody;
    if (
      this.ctx.draining ||
      this.closeConnection ||
      !keepAlive ||
      !this.requestComplete ||
      (http10 && !length && !endStream)
    ) {
      headers.push("connection", "close");
      this.closing = true;
      // Envoy delays the close unless the response comes after the request was dispatched (not a
      // reply made while reading it: no route, direct response, no healthy host, missing host), the
      // client asked for the close (`connection: close`, HTTP/1.0) or it was the connection's last
      // request, and the request is complete (or is HTTP/1.0 with a response framed by the close):
      // then nothing can race (measured on Envoy 1.40).
      this.closeAtOnce =
        !this.dispatching &&
        (!keepAlive || this.lastRequest) &&
        (this.requestComplete || (http10 && !hasRawHeader(headers, "content-length")));
    } else if (http10) {
      headers.push("connection", "keep-alive");
    }
    if (!length) {
      if (endStream) headers.push("content-length", "0");
      else if (!http10) {
        headers.push("transfer-encoding", "chunked");
        this.chunked = true;
      }
    }
    let text = `${this.statusLine10 ? "HTTP/1.0" : "HTTP/1.1"} ${status} ${reasonPhrase(status)}\r\n`;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      const value = headers[i + 1] as string;
      if (INVALID.test(value) || INVALID.test(name)) continue;
      text += `${name}: ${value}\r\n`;
    }
    text += "\r\n";
    if (endStream) {
      this.conn.socket.write(text, "latin1");
      this.responseEnded();
    } else {
      this.heldHead = text;
    }
  }

  protected writeBody(chunk: Buffer): boolean {
    const socket = this.conn.socket;
    if (this.noBody || socket.destroyed) return true;
    const head = this.heldHead;
    this.heldHead = null;
    if (!this.chunked) {
      if (head === null) {
        const ok = socket.write(chunk);
        // Corked until the iteration's end: buffered here, flushed within this loop iteration.
        return this.corked ? socket.writableLength < CORKED_LIMIT : ok;
      }
      socket.cork();
      socket.write(head, "latin1");
      const ok = socket.write(chunk);
      if (this.bodyLength <= chunk.length) {
        socket.uncork();
        return ok;
      }
      // More of the body is coming, often in the reads of this same loop iteration: they go out
      // with this write (Envoy's write buffer flushes once per dispatch), one writev at the end of
      // the iteration or at the end of the response, whichever comes first.
      this.corked = true;
      setImmediate(uncorkAtIterationEnd, this);
      return true;
    }
    socket.cork();
    if (head !== null) socket.write(head, "latin1");
    socket.write(`${chunk.length.toString(16)}\r\n`, "latin1");
    socket.write(chunk);
    const ok = socket.write("\r\n", "latin1");
    socket.uncork();
    return ok;
  }

  /** The writes corked by writeBody go out (the loop iteration or the response ended). */
  flushCorked(): void {
    if (!this.corked) return;
    this.corked = false;
    this.conn.socket.uncork();
  }

  /** Trailers are dropped: Envoy's HTTP/1 codec writes none unless `enable_trailers` (not supported). */
  protected endBody(_trailers: RawHeaders | null): void {
    this.flushCorked();
    const head = this.heldHead;
    this.heldHead = null;
    const last = this.chunked && !this.noBody ? "0\r\n\r\n" : "";
    if (head !== null || last !== "") this.conn.socket.write(head === null ? last : head + last, "latin1");
    this.responseEnded();
  }

  protected endWith(body: string): void {
    const socket = this.conn.socket;
    const head = this.heldHead ?? "";
    this.heldHead = null;
    socket.cork();
    socket.write(head, "latin1");
    if (!this.noBody) socket.write(body);
    socket.uncork();
    this.responseEnded();
  }

  protected destroyStream(): void {
    this.conn.socket.destroy();
  }

  /**
   * The response is written to its end: the stream is over (a request not complete counts as cut,
   * `downstream_rq_rx_reset`: its connection closes), then the connection closes or reads the next
   * request.
   */
  private responseEnded(): void {
    const socket = this.conn.socket;
    if (this.closing) {
      if (this.closeAtOnce) socket.destroySoon();
      else closeAfterDelay(socket);
    }
    this.closed();
    this.conn.streamDone(this, this.closing);
  }
}
