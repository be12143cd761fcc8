/**
 * One client HTTP/1.1 connection (the socket of one connection of a pool), written for the proxy
 * so that the bytes on the wire are Envoy's (measured against Envoy 1.40 with a raw TCP upstream):
 * the request line, `host`, then the request's headers in their order with lower-case names; no
 * `connection` header; the body framed as the request was (`content-length` kept where it is,
 * otherwise `transfer-encoding: chunked` last, and `content-length: 0` for a body-less request whose
 * method anticipates a body); HEAD keeps the connection. Responses: the head by
 * ./response_parser.ts, the body here (content-length, chunked by ./chunked.ts, until close), 1xx
 * skipped.
 *
 * One exchange at a time (no pipelining). The socket comes from `connect` (the pool's connector,
 * which keeps the connection stats and reads from an ExchangeState whether an exchange is on the
 * connection); the connection is reusable after an exchange when both sides completed cleanly, the
 * response did not ask to close, and `maxRequests` is not reached. An idle connection closes after
 * `idleTimeoutMs`; one the upstream closes leaves the pool at once.
 *
 * Errors carry Node-style codes: `ECONNRESET` (the upstream closed or reset before the response
 * ended), `HPE_INVALID_RESPONSE` (unparsable response: Envoy's protocol error), `ERR_H1_ABORTED`
 * (the pool aborted the exchange), or the connector's ConnectFailure.
 */
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import { CHUNK_DATA, CHUNK_DONE, CHUNK_ERROR, ChunkedDecoder } from "./chunked.js";
import { parseResponseHead } from "./response_parser.js";
import { chunkHeader, requestHead } from "./serializer.js";
import type { RawHeaders } from "./types.js";

/** Envoy's `max_response_headers_kb` default. */
const MAX_HEAD_BYTES = 60 * 1024;

/** Methods whose requests get no `content-length: 0` when they have no body (as Envoy 1.40). */
const BODILESS: ReadonlySet<string> = new Set(["GET", "HEAD", "DELETE", "CONNECT", "TRACE"]);

const CRLF2 = Buffer.from("\r\n\r\n");

export interface H1Exchange {
  method: string;
  path: string;
  /** Headers as sent, `host` first; names lower-case; no hop-by-hop headers, no `expect`. */
  headers: RawHeaders;
  body: Readable | Buffer | null;
}

/** What the pool's request hears (undici's dispatcher callbacks, with string headers). */
export interface H1Handler {
  /** The exchange is about to be written; `abort` ends it (and the connection) from the pool's side. */
  onConnect(abort: (err?: Error) => void): void;
  /** The final response head; false asks to pause until `resume` is called. */
  onHeaders(status: number, headers: RawHeaders, resume: () => void): boolean;
  /** A body chunk; false asks to pause. */
  onData(chunk: Buffer): boolean;
  onComplete(trailers: RawHeaders | null): void;
  /** The exchange failed (connect, socket, parse, abort). Never called after onComplete. */
  onError(err: Error): void;
}

export interface H1ClientEvents {
  /** The socket connected. */
  onOpen(): void;
  /** The socket is gone (or will never come): no more exchanges on this connection. */
  onClose(): void;
  /** The response said the upstream closes the connection (`connection: close`, HTTP/1.0). */
  onCloseNotify(): void;
  /** The response was malformed, or the upstream closed before its end (Envoy's protocol error). */
  onProtocolError(): void;
}

/**
 * What the connection tells whoever opened its socket, read when the socket closes: the shape of the
 * proxy's connector state (`CxState`).
 */
export interface ExchangeState {
  /** An exchange is in progress on the connection. */
  activeRq: boolean;
  /** The owner started closing it (never set by H1Client itself). */
  closing: boolean;
}

/** Opens the socket; `cx` tells the connector whether a request is on the connection when it closes. */
type Connector = (cb: (err: Error | null, socket: Socket | null) => void, cx: ExchangeState) => void;

enum Body {
  Head,
  Length,
  Chunked,
  UntilClose,
  Done,
}

export class H1Client {
  private socket: Socket | null = null;
  private connecting = false;
  private closed = false;
  private handler: H1Handler | null = null;
  private exchange: H1Exchange | null = null;
  private served = 0;
  private lastError: Error | null = null;
  private readonly cx: ExchangeState = { activeRq: false, closing: false };

  // Response parsing state.
  private state = Body.Done;
  private pending: Buffer | null = null;
  private remaining = 0;
  private keepAlive = true;
  private headRequest = false;
  private trailers: RawHeaders | null = null;
  /** Made on the first chunked response of the connection, reused by the next. */
  private decoder: ChunkedDecoder | null = null;
  private paused = false;
  /** The final response head of the exchange in progress was parsed. */
  private headSeen = false;
  private responseDone = false;
  private requestDone = false;

  private readonly resume = (): void => {
    if (!this.paused) return;
    this.paused = false;
    this.socket?.resume();
  };
  private readonly abort = (err?: Error): void => {
    if (this.handler === null) return;
    if (err === undefined && this.headSeen && this.state === Body.Done && this.requestDone) {
      // Already read to its end (a retried 5xx without a body): the connection stays usable.
      this.responseComplete();
      return;
    }
    this.fail(err ?? codeError("ERR_H1_ABORTED", "exchange aborted"));
    this.destroy();
  };
  /** A reused connection writes on the next tick (no callback runs inside the pool's `request()`). */
  private readonly writeLater = (handler: H1Handler): void => {
    if (this.handler === handler && this.socket !== null && !this.closed) this.write();
  };
  private readonly onSocketData = (data: Buffer): void => this.onData(data);
  private readonly onSocketEnd = (): void => this.onEnd();
  private readonly onSocketClose = (): void => this.onSocketGone();
  private readonly onSocketError = (err: Error): void => {
    this.lastError = err;
  };
  private readonly onSocketTimeout = (): void => {
    // Armed for the socket's life: it closes only a connection with no exchange on it.
    if (this.handler === null) this.destroy();
  };

  constructor(
    private readonly connect: Connector,
    private readonly events: H1ClientEvents,
    private readonly idleTimeoutMs: number,
    /** 0 = unlimited. */
    private readonly maxRequests: number,
  ) {}

  /** Exchanges completed on this connection. */
  get servedCount(): number {
    return this.served;
  }

  /** Start an exchange (the connection is idle). Callbacks never run inside this call. */
  dispatch(exchange: H1Exchange, handler: H1Handler): void {
    this.handler = handler;
    this.exchange = exchange;
    if (this.closed) {
      process.nextTick(() => this.fail(codeError("ECONNRESET", "connection closed")));
      return;
    }
    if (this.socket !== null) {
      process.nextTick(this.writeLater, handler);
      return;
    }
    this.open();
  }

  /**
   * Connect now, with or without an exchange (a pool opens a connection for whichever request waits
   * when it is up). Open without an exchange, it is idle: it times out after `idleTimeoutMs`.
   */
  open(): void {
    if (this.socket !== null || this.connecting || this.closed) return;
    this.connecting = true;
    this.connect((err, socket) => {
      this.connecting = false;
      if (err !== null || socket === null) {
        this.closed = true;
        this.fail(err ?? codeError("ECONNRESET", "connect failed"));
        this.events.onClose();
        return;
      }
      if (this.closed) {
        socket.destroy();
        return;
      }
      this.attach(socket);
      // An exchange dispatched from onOpen is written on the next tick (dispatch's own path).
      const waiting = this.handler;
      this.events.onOpen();
      if (waiting !== null && this.handler === waiting && !this.closed) this.write();
    }, this.cx);
  }

  /** Close the connection now; an exchange in progress fails with ERR_H1_ABORTED. */
  destroy(): void {
    if (this.handler !== null) this.fail(codeError("ERR_H1_ABORTED", "connection destroyed"));
    this.closeSocket();
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    // Recorded for the failure the 'close' below reports.
    socket.on("error", this.onSocketError);
    socket.on("data", this.onSocketData);
    socket.on("end", this.onSocketEnd);
    socket.on("close", this.onSocketClose);
    socket.on("timeout", this.onSocketTimeout);
    // Armed once for the socket's life (Node restarts it on every read and write, and re-arms it after
    // it fired): it closes the connection only when it fires with no exchange on it. Disarming and
    // re-arming it around every exchange cost a timer object and two timer-list updates per request.
    if (this.idleTimeoutMs > 0) socket.setTimeout(this.idleTimeoutMs);
  }

  private closeSocket(): void {
    if (this.closed) return;
    this.closed = true;
    const socket = this.socket;
    if (socket !== null) socket.destroy();
    this.events.onClose();
  }

  // --- request ---

  private write(): void {
    const socket = this.socket as Socket;
    const exchange = this.exchange as H1Exchange;
    const handler = this.handler as H1Handler;
    this.state = Body.Head;
    this.pending = null;
    this.keepAlive = true;
    this.trailers = null;
    this.paused = false;
    this.headSeen = false;
    this.responseDone = false;
    this.requestDone = false;
    this.headRequest = exchange.method === "HEAD";

    const { method, body } = exchange;
    const serialized = requestHead(exchange);
    if (serialized === null) {
      // Refused before sending: not the upstream's protocol error.
      this.fail(codeError("HPE_INVALID_RESPONSE", "invalid character in the request line or a header"));
      return;
    }
    let head = serialized.text;
    const length = serialized.hasContentLength;
    this.cx.activeRq = true;
    handler.onConnect(this.abort);
    if (this.handler !== handler) return;
    if (body === null || (Buffer.isBuffer(body) && body.length === 0 && !length)) {
      if (!length && !BODILESS.has(method)) head += "content-length: 0\r\n";
      socket.write(`${head}\r\n`, "latin1");
      this.requestDone = true;
      return;
    }
    const chunked = !length;
    if (chunked) head += "transfer-encoding: chunked\r\n";
    if (Buffer.isBuffer(body)) {
      socket.cork();
      socket.write(`${head}\r\n`, "latin1");
      if (chunked) socket.write(chunkHeader(body.length), "latin1");
      socket.write(body);
      if (chunked) socket.write("\r\n0\r\n\r\n", "latin1");
      socket.uncork();
      this.requestDone = true;
      return;
    }
    // The head waits for what the body already holds (its buffered chunks flow on the next tick, in
    // the order resume() scheduled them, before the uncork below): head and body go in one writev.
    socket.cork();
    socket.write(`${head}\r\n`, "latin1");
    this.pipeBody(socket, body, chunked, handler);
    process.nextTick(uncork, socket);
  }

  /** A streamed body, with backpressure both ways. */
  private pipeBody(socket: Socket, body: Readable, chunked: boolean, handler: H1Handler): void {
    const current = (): boolean => this.handler === handler && this.socket === socket && !this.closed;
    const onData = (chunk: Buffer): void => {
      if (!current()) {
        cleanup();
        return;
      }
      if (chunk.length === 0) return;
      let ok: boolean;
      if (chunked) {
        socket.cork();
        socket.write(chunkHeader(chunk.length), "latin1");
        socket.write(chunk);
        ok = socket.write("\r\n", "latin1");
        socket.uncork();
      } else {
        ok = socket.write(chunk);
      }
      if (!ok) {
        body.pause();
        socket.once("drain", onDrain);
      }
    };
    const onDrain = (): void => {
      if (current()) body.resume();
    };
    const onEnd = (): void => {
      cleanup();
      if (!current()) return;
      if (chunked) socket.write("0\r\n\r\n", "latin1");
      this.requestDone = true;
    };
    const onError = (): void => {
      cleanup();
      if (current()) this.abort(codeError("ERR_H1_ABORTED", "request body failed"));
    };
    const cleanup = (): void => {
      body.removeListener("data", onData);
      body.removeListener("end", onEnd);
      body.removeListener("error", onError);
      socket.removeListener("drain", onDrain);
    };
    body.on("data", onData);
    body.once("end", onEnd);
    body.once("error", onError);
    if (body.isPaused()) body.resume();
  }

  // --- response ---

  private onData(data: Buffer): void {
    if (this.handler === null || this.state === Body.Done) {
      // Bytes nobody asked for: the connection cannot be trusted any more.
      this.closeSocket();
      return;
    }
    let buf = data;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, data]);
      this.pending = null;
    }
    let at = 0;
    while (at < buf.length && this.handler !== null) {
      switch (this.state) {
        case Body.Head: {
          const end = buf.indexOf(CRLF2, at);
          if (end < 0) {
            if (buf.length - at > MAX_HEAD_BYTES) {
              this.protocolError("response headers too large");
              return;
            }
            this.pending = buf.subarray(at);
            return;
          }
          if (end - at > MAX_HEAD_BYTES) {
            this.protocolError("response headers too large");
            return;
          }
          const text = buf.toString("latin1", at, end);
          at = end + 4;
          if (!this.onHead(text)) return;
          break;
        }
        case Body.Length: {
          const n = Math.min(this.remaining, buf.length - at);
          this.remaining -= n;
          const chunk = buf.subarray(at, at + n);
          at += n;
          if (this.remaining === 0) this.state = Body.Done;
          this.deliver(chunk);
          break;
        }
        case Body.UntilClose: {
          const chunk = at === 0 ? buf : buf.subarray(at);
          at = buf.length;
          this.deliver(chunk);
          break;
        }
        case Body.Chunked: {
          const decoder = this.decoder as ChunkedDecoder;
          at = decoder.decode(buf, at, buf.length);
          if (decoder.event === CHUNK_DATA) this.deliver(decoder.data);
          else if (decoder.event === CHUNK_DONE) {
            this.trailers = decoder.trailers;
            this.state = Body.Done;
          } else if (decoder.event === CHUNK_ERROR) {
            this.protocolError(decoder.error);
            return;
          } else {
            // A line (size, chunk end, trailer) continues in the next read.
            if (at < buf.length) this.pending = buf.subarray(at);
            return;
          }
          break;
        }
        case Body.Done:
          // More bytes after a complete response: not reusable (Envoy closes it too).
          this.keepAlive = false;
          at = buf.length;
          break;
      }
      if (this.state === Body.Done && !this.responseDone && this.handler !== null) this.responseComplete();
    }
    // Bytes after the end of the response: the connection cannot be trusted (Envoy closes it too).
    if (at < buf.length && this.handler === null) this.closeSocket();
  }

  /** Parse a response head; false when the exchange ended (error). */
  private onHead(text: string): boolean {
    const parsed = parseResponseHead(text);
    if (typeof parsed === "string") {
      this.protocolError(parsed);
      return false;
    }
    const { status, headers, chunked, close } = parsed;
    const length = parsed.contentLength;
    if (status < 200) {
      // 100 Continue and other interim answers are not forwarded (Envoy's default).
      if (status === 101) {
        this.protocolError("unexpected 101");
        return false;
      }
      return true;
    }
    if (status === 204 && length >= 0) {
      // A 204 has no body (RFC 9110 §8.6): Envoy 1.40 drops its `content-length: 0` and calls any
      // other length a protocol error (502). A 304's length describes the resource: it passes.
      if (length > 0) {
        this.protocolError("content-length in a 204");
        return false;
      }
      for (let i = headers.length - 2; i >= 0; i -= 2)
        if (headers[i] === "content-length") headers.splice(i, 2);
    }
    if (close) {
      this.keepAlive = false;
      this.events.onCloseNotify();
    }
    if (this.headRequest || status === 204 || status === 304) this.state = Body.Done;
    else if (chunked) {
      if (length >= 0) this.keepAlive = false;
      this.decoder ??= new ChunkedDecoder(MAX_HEAD_BYTES);
      this.decoder.reset();
      this.state = Body.Chunked;
    } else if (length >= 0) {
      this.remaining = length;
      this.state = length === 0 ? Body.Done : Body.Length;
    } else {
      this.keepAlive = false;
      this.state = Body.UntilClose;
    }
    if (chunked && length >= 0) {
      // Transfer-Encoding wins over Content-Length (RFC 9112 §6.3), which is dropped.
      for (let i = headers.length - 2; i >= 0; i -= 2)
        if (headers[i] === "content-length") headers.splice(i, 2);
    }
    const handler = this.handler as H1Handler;
    this.headSeen = true;
    if (!handler.onHeaders(status, headers, this.resume)) this.pause();
    return this.handler === handler;
  }

  private deliver(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const handler = this.handler as H1Handler;
    if (!handler.onData(chunk)) this.pause();
  }

  private pause(): void {
    if (this.paused || this.socket === null) return;
    this.paused = true;
    this.socket.pause();
  }

  /**
   * The response ended. A request body still being sent stops there and the connection closes
   * (the response is not held back for it).
   */
  private responseComplete(): void {
    this.responseDone = true;
    if (!this.requestDone) this.keepAlive = false;
    this.finish();
  }

  /** Both directions are done: hand the result over and go idle (or close). */
  private finish(): void {
    const handler = this.handler;
    if (handler === null) return;
    this.handler = null;
    this.exchange = null;
    this.state = Body.Done;
    this.served++;
    const trailers = this.trailers;
    this.trailers = null;
    this.cx.activeRq = false;
    if (!this.keepAlive || (this.maxRequests > 0 && this.served >= this.maxRequests)) this.closeSocket();
    if (this.paused) this.resume();
    handler.onComplete(trailers);
  }

  private onEnd(): void {
    if (this.state === Body.UntilClose && this.handler !== null) {
      this.keepAlive = false;
      this.state = Body.Done;
      this.responseComplete();
    }
    this.closeSocket();
  }

  private onSocketGone(): void {
    if (this.handler !== null) {
      // Cut inside a response (not one read until close): Envoy's codec calls that a protocol error.
      const cut = this.state !== Body.UntilClose && (this.headSeen || this.pending !== null);
      if (cut) this.events.onProtocolError();
      const err = this.lastError;
      const code = (err as NodeJS.ErrnoException | null)?.code;
      this.fail(
        codeError(
          code === "EPIPE" ? "EPIPE" : "ECONNRESET",
          err?.message ?? "upstream connection closed before the response ended",
        ),
      );
    }
    this.closeSocket();
  }

  private protocolError(message: string): void {
    this.events.onProtocolError();
    this.fail(codeError("HPE_INVALID_RESPONSE", message));
    this.closeSocket();
  }

  private fail(err: Error): void {
    const handler = this.handler;
    if (handler === null) return;
    this.handler = null;
    this.exchange = null;
    this.state = Body.Done;
    this.closeSocket();
    handler.onError(err);
  }
}

function uncork(socket: Socket): void {
  socket.uncork();
}

function codeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Whether `body` can still be sent again (a retry on a fresh connection). */
export function bodyIntact(body: Readable | Buffer | null): boolean {
  return !(body instanceof Readable) || (!body.readableDidRead && !body.destroyed);
}
