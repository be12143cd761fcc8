/**
 * The server side of the HTTP/1.1 codec (Envoy's `Http1::ServerConnectionImpl`), used by the proxy's
 * connection manager and by the echo: one H1Connection per socket parses requests from the bytes it
 * reads and hands each one to its handler, ONE AT A TIME as Envoy does: the next request of a
 * pipelining client is not parsed (nor counted, nor routed) until the response to the current one is
 * complete. Bytes read meanwhile wait in the connection's buffer, up to Envoy's per-connection buffer
 * limit (1 MiB), past which the socket stops being read. Reading goes on below that limit, so a
 * client that leaves is seen at once and its request cancelled.
 *
 * The grammar is ./request_parser.ts (strict RFC 9112) and ./chunked.ts; this file is the connection:
 * buffering, one request at a time, body framing with backpressure, head deadlines, handing the socket
 * to another server (`detach`). Limits as Envoy's: `max_request_headers_kb` (431), `max_headers_count`
 * (431), and the request head deadlines from its first byte: `request_headers_timeout`,
 * `stream_idle_timeout` and `request_timeout` (408).
 */
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { CHUNK_DATA, CHUNK_DONE, CHUNK_ERROR, ChunkedDecoder } from "./chunked.js";
import { RequestBody } from "./request_body.js";
import { parseRequestHead } from "./request_parser.js";
import { bareLineEnd } from "./syntax.js";
import type { CodecError, RawHeaders, RequestHead } from "./types.js";

export { RequestBody } from "./request_body.js";
export type { CodecError, RequestHead } from "./types.js";

/** Envoy's `per_connection_buffer_limit_bytes` default: how much a connection buffers before it stops reading. */
const BUFFER_LIMIT = 1024 * 1024;

const CRLF2 = Buffer.from("\r\n\r\n");
const EMPTY = Buffer.alloc(0);

export interface H1Options {
  /** `max_request_headers_kb` in bytes: the request line and header lines together. */
  maxHeadBytes: number;
  /** `common_http_protocol_options.max_headers_count`. */
  maxHeadersCount: number;
  /** `common_http_protocol_options.idle_timeout`: a connection with no request in progress closes (0: never). */
  idleTimeoutMs: number;
  /** `request_headers_timeout` (0: none): the whole head must have arrived this long after its first byte. */
  headersTimeoutMs: number;
  /** `stream_idle_timeout` (0: none): a head that stays incomplete this long gets 408 `stream timeout`. */
  streamIdleTimeoutMs: number;
  /** `request_timeout` (0: none): covers the head too. */
  requestTimeoutMs: number;
}

/** What the connection manager does with what the codec parses. */
export interface H1Handler {
  /** A request (not an upgrade): the handler creates the stream that serves it (H1Connection.begin). */
  onRequest(conn: H1Connection, head: RequestHead): void;
  /** An Upgrade or CONNECT request: the socket is the handler's from now on; `rest` was read after the head. */
  onUpgrade(conn: H1Connection, head: RequestHead, rest: Buffer): void;
  /**
   * A head refused before any request existed: answer on the socket and close it. `read`: the bytes
   * read from the refused head's first byte on (for a handler that passes the connection on instead;
   * the socket is then its own, and flowing: it pauses it at once).
   */
  onCodecError(socket: Socket, error: CodecError, read: Buffer): void;
  /** The connection was idle for `idle_timeout` and is closed. */
  onIdleTimeout(): void;
}

/** The stream serving the request in progress, as the connection sees it (H1Stream). */
export interface H1ActiveStream {
  /** Set by the codec before the request body ends (chunked trailers). */
  requestTrailers: RawHeaders | null;
  /** The socket closed before the stream was over. */
  socketClosed(): void;
  /** A malformed body after the request was dispatched: answer 400 (or reset) and close. */
  bodyError(): void;
}

/**
 * The HTTP/1.1 side of a connection manager: sockets are handed to it as to a net.Server (`emit("connection",
 * socket)`, as the listener does after the h2c sniff).
 */
export class H1Server extends EventEmitter {
  private readonly connections = new Set<H1Connection>();

  constructor(
    private readonly handler: H1Handler,
    readonly options: H1Options,
  ) {
    super();
    this.on("connection", (socket: Socket) => this.accept(socket));
  }

  private accept(socket: Socket): void {
    const conn = new H1Connection(socket, this.handler, this.options, this.connections);
    this.connections.add(conn);
  }

  /** Close the connections that have no request in progress (draining). */
  closeIdleConnections(): void {
    for (const c of this.connections) if (c.idle) c.socket.destroy();
  }

  /** Stop the connections' head timers (the listener closes; it destroys their sockets itself). */
  close(): void {
    for (const c of this.connections) c.stopHeadTimer();
  }
}

enum Phase {
  /** Waiting for (or reading) a request head. */
  Head,
  /** Reading the body of the request in progress. */
  Body,
  /** The request is complete; waiting for its response to end. */
  Wait,
  /** Nothing more is parsed: the socket closed, was handed over, or closes after this response. */
  Done,
}

/** Why the socket is not being read. */
const PAUSED_BODY = 1;
const PAUSED_BUFFER = 2;

export class H1Connection {
  /** The stream serving the request in progress (at most one). */
  private stream: H1ActiveStream | null = null;
  private phase = Phase.Head;
  /** Requests begun on this connection (`max_requests_per_connection`). */
  requests = 0;

  // Unparsed bytes: buf[start, end). `buf` may be a read's own Buffer (end === buf.length), else
  // storage of ours with room after `end`; bytes handed out as body chunks are never overwritten.
  private buf: Buffer = EMPTY;
  private start = 0;
  private end = 0;
  /** Where the head being handed over began (`detach`, `refuse`). */
  private headAt = 0;
  /** Bytes from `start` already searched for the end of the head. */
  private searched = 0;
  private paused = 0;
  /** In process(): a stream ending inside it does not re-enter. */
  private processing = false;

  // The body of the request in progress.
  private head: RequestHead | null = null;
  /** The body is chunked (else it has a length: `remaining`). */
  private chunked = false;
  private remaining = 0;
  /** Made on the first chunked body of the connection, reused by the next. */
  private decoder: ChunkedDecoder | null = null;

  /** The head deadline, armed only while a head spans reads. */
  private headTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly socket: Socket,
    private readonly handler: H1Handler,
    private readonly options: H1Options,
    private readonly registry: Set<H1Connection>,
  ) {
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("close", this.onClose);
    if (options.idleTimeoutMs > 0) {
      // Armed for the life of the connection (node restarts it on every read and write): when it
      // fires, the connection is closed only if it is idle (Envoy's idle_timeout: no request).
      socket.setTimeout(options.idleTimeoutMs);
      socket.on("timeout", this.onTimeout);
    }
  }

  /** No request in progress and no request head begun. */
  get idle(): boolean {
    return this.stream === null && this.phase === Phase.Head && this.start === this.end;
  }

  /** The handler's stream for the request just handed over (called from `onRequest`). */
  begin(stream: H1ActiveStream): void {
    this.stream = stream;
    this.requests++;
  }

  /**
   * The response of the current stream has ended. `closing`: it said `connection: close` (the socket
   * closes after it); else the next request is parsed.
   */
  streamDone(stream: H1ActiveStream, closing: boolean): void {
    if (this.stream !== stream) return;
    if (closing || this.socket.destroyed) {
      this.phase = Phase.Done;
      this.release();
      return;
    }
    if (this.phase === Phase.Body) {
      // Answered before its body arrived: the rest of the body must never be read as a request.
      this.phase = Phase.Done;
      this.release();
      return;
    }
    this.stream = null;
    this.phase = Phase.Head;
    this.unpause(PAUSED_BUFFER);
    if (!this.processing && this.end > this.start) this.process();
  }

  /** The socket is no longer ours to read (closing after a reply, or handed over). */
  private release(): void {
    this.stopHeadTimer();
    this.socket.removeListener("data", this.onData);
    this.socket.removeListener("end", this.onEnd);
    this.socket.removeListener("timeout", this.onTimeout);
    this.socket.setTimeout(0);
    this.buf = EMPTY;
    this.start = this.end = 0;
    if (this.paused !== 0) {
      this.paused = 0;
      this.socket.resume();
    }
  }

  /**
   * Hand the socket to another HTTP/1.1 server, from `onRequest` (before `begin`): nothing more is
   * parsed or watched here; returns the bytes read after the current head (its body, what a client
   * pipelined), or with `withHead` from the head's first byte (the new owner parses the request
   * again, as it was sent). The new owner must read them first; the socket is left paused.
   */
  detach(withHead = false): Buffer {
    const rest = this.buf.subarray(withHead ? this.headAt : this.start, this.end);
    this.phase = Phase.Done;
    this.release();
    this.socket.removeListener("close", this.onClose);
    this.registry.delete(this);
    this.socket.pause();
    return rest;
  }

  stopHeadTimer(): void {
    if (this.headTimer !== null) clearTimeout(this.headTimer);
    this.headTimer = null;
  }

  private readonly onData = (data: Buffer): void => {
    if (this.phase === Phase.Done) return;
    this.append(data);
    if (!this.processing) this.process();
  };

  /** The client's FIN: Envoy's HTTP/1 codec closes the connection (a request in progress is cut). */
  private readonly onEnd = (): void => {
    this.socket.end();
  };

  private readonly onClose = (): void => {
    this.phase = Phase.Done;
    this.stopHeadTimer();
    this.registry.delete(this);
    const body = this.head?.body;
    if (body !== null && body !== undefined && !body.readableEnded && !body.destroyed)
      body.destroy(Object.assign(new Error("aborted"), { code: "ECONNRESET" }));
    const stream = this.stream;
    this.stream = null;
    stream?.socketClosed();
  };

  private readonly onTimeout = (): void => {
    if (!this.idle) return;
    this.handler.onIdleTimeout();
    this.socket.destroy();
  };

  private append(data: Buffer): void {
    if (this.start === this.end) {
      // Nothing pending: parse the read's own bytes.
      this.buf = data;
      this.start = 0;
      this.end = data.length;
      this.searched = 0;
      return;
    }
    const used = this.end - this.start;
    if (this.end + data.length > this.buf.length || this.buf.length === this.end) {
      // Grow (doubling, so a head or a pipeline read in small pieces is copied O(n) times in all).
      const next = Buffer.allocUnsafe(Math.max(2 * (used + data.length), 4096));
      this.buf.copy(next, 0, this.start, this.end);
      this.buf = next;
      this.start = 0;
      this.end = used;
    }
    data.copy(this.buf, this.end);
    this.end += data.length;
  }

  private pause(reason: number): void {
    if (this.paused === 0) this.socket.pause();
    this.paused |= reason;
  }

  private unpause(reason: number): void {
    if ((this.paused & reason) === 0) return;
    this.paused &= ~reason;
    if (this.paused === 0) this.socket.resume();
  }

  /** Parse what is buffered: the body of the request in progress, or the next head when there is none. */
  private process(): void {
    this.processing = true;
    try {
      while (this.phase !== Phase.Done) {
        if (this.phase === Phase.Body) {
          if (!this.readBody()) break;
          continue;
        }
        if (this.stream !== null) {
          // One request at a time: the next waits for this response, reading stops past the limit.
          if (this.end - this.start > BUFFER_LIMIT) this.pause(PAUSED_BUFFER);
          break;
        }
        if (!this.readHead()) break;
      }
    } finally {
      this.processing = false;
    }
  }

  /** Parse one head and hand it over; false when more bytes are needed or the connection ended. */
  private readHead(): boolean {
    const buf = this.buf;
    // Envoy's codec (and RFC 9112 §2.2) ignores empty lines before a request line.
    while (this.start < this.end && (buf[this.start] === 13 || buf[this.start] === 10)) this.start++;
    if (this.start === this.end) {
      this.searched = 0;
      return false;
    }
    const from = this.start + Math.max(0, this.searched - 3);
    // Storage past `end` is not ours to search.
    const view = buf.length === this.end ? buf : buf.subarray(0, this.end);
    const at = view.indexOf(CRLF2, from);
    const maxHead = this.options.maxHeadBytes;
    if (at < 0) {
      const length = this.end - this.start;
      if (length > maxHead) return this.refuse("headers_too_large");
      // A LF without its CR, or a CR without its LF, will never end a head (and the parser refuses
      // either in a complete one): refused now, not at max_request_headers_kb or the head timeout.
      if (bareLineEnd(view, from)) return this.refuse("bad_request");
      this.searched = length;
      this.armHeadTimer();
      return false;
    }
    this.stopHeadTimer();
    this.searched = 0;
    if (at - this.start > maxHead) return this.refuse("headers_too_large");
    this.headAt = this.start;
    const parsed = parseRequestHead(buf.toString("latin1", this.start, at), this.options.maxHeadersCount);
    this.start = at + 4;
    if (typeof parsed === "string") return this.refuse(parsed, this.headAt);
    // `Upgrade: h2c` is served as the plain request it also is (Envoy's codec ignores it).
    if ((parsed.upgrade !== null && parsed.upgrade !== "h2c") || parsed.method === "CONNECT") {
      // The rest of the bytes belong to the tunnel (or are dropped with a refusal); the socket is
      // held until the new owner reads it (a pipe resumes it; a refusal drops what comes).
      this.handler.onUpgrade(this, parsed, this.detach());
      return false;
    }
    if (parsed.framing === "length" || parsed.framing === "chunked") {
      parsed.body = new RequestBody(this);
      this.chunked = parsed.framing === "chunked";
      if (this.chunked) {
        this.decoder ??= new ChunkedDecoder(this.options.maxHeadBytes);
        this.decoder.reset();
      }
      this.remaining = parsed.contentLength;
      this.phase = Phase.Body;
    } else {
      this.phase = parsed.framing === "unknown" ? Phase.Done : Phase.Wait;
    }
    this.head = parsed;
    const begun = this.requests;
    this.handler.onRequest(this, parsed);
    // Every request gets a stream (it may be over already); without one nothing more is read.
    if (this.requests === begun) this.phase = Phase.Done;
    return this.phase !== Phase.Done;
  }

  /**
   * Deliver body bytes of the request in progress; false when more bytes are needed. At its end the
   * trailers (chunked) are handed to the stream and the body ends; the phase becomes Wait.
   */
  private readBody(): boolean {
    const head = this.head as RequestHead;
    const body = head.body as RequestBody;
    if (this.chunked) return this.readChunked(head, body);
    if (this.remaining === 0) return this.bodyComplete(head, body);
    const n = Math.min(this.remaining, this.end - this.start);
    if (n === 0) return false;
    const chunk = this.buf.subarray(this.start, this.start + n);
    this.start += n;
    this.remaining -= n;
    this.deliver(body, chunk);
    // A delivery may end the exchange (the stream answered and closed).
    return this.phase === Phase.Body;
  }

  private readChunked(head: RequestHead, body: RequestBody): boolean {
    const decoder = this.decoder as ChunkedDecoder;
    this.start = decoder.decode(this.buf, this.start, this.end);
    switch (decoder.event) {
      case CHUNK_DATA:
        this.deliver(body, decoder.data);
        return this.phase === Phase.Body;
      case CHUNK_DONE:
        head.trailers = decoder.trailers;
        return this.bodyComplete(head, body);
      case CHUNK_ERROR:
        return this.badBody();
      default:
        return false;
    }
  }

  private deliver(body: RequestBody, chunk: Buffer): void {
    if (chunk.length === 0 || body.destroyed) return;
    if (!body.push(chunk)) this.pause(PAUSED_BODY);
  }

  private bodyComplete(head: RequestHead, body: RequestBody): boolean {
    this.phase = this.stream === null ? Phase.Head : Phase.Wait;
    if (this.stream !== null && head.trailers !== null) this.stream.requestTrailers = head.trailers;
    if (!body.destroyed) body.push(null);
    return true;
  }

  /** A malformed body: the stream answers 400 (or is reset) and the connection closes. */
  private badBody(): boolean {
    this.phase = Phase.Done;
    const body = this.head?.body;
    if (body !== null && body !== undefined && !body.destroyed)
      body.destroy(Object.assign(new Error("malformed request body"), { code: "HPE_INVALID_CHUNK_SIZE" }));
    const stream = this.stream;
    this.release();
    stream?.bodyError();
    return false;
  }

  /** The body's reader wants more. */
  readMore(): void {
    this.unpause(PAUSED_BODY);
  }

  /** A head refused before a request existed: the handler answers, the connection closes. */
  private refuse(error: CodecError, from: number = this.start): boolean {
    const read = this.buf.subarray(from, this.end);
    this.phase = Phase.Done;
    this.release();
    this.handler.onCodecError(this.socket, error, read);
    return false;
  }

  /** A head spans reads: its deadline runs from now (its first byte came in this read or an earlier one). */
  private armHeadTimer(): void {
    if (this.headTimer !== null) return;
    const o = this.options;
    const ms = shortest(o.headersTimeoutMs, o.streamIdleTimeoutMs, o.requestTimeoutMs);
    if (ms === 0) return;
    this.headTimer = setTimeout(this.onHeadTimeout, ms);
  }

  private readonly onHeadTimeout = (): void => {
    this.headTimer = null;
    if (this.phase !== Phase.Head || this.stream !== null) return;
    const o = this.options;
    const ms = shortest(o.headersTimeoutMs, o.streamIdleTimeoutMs, o.requestTimeoutMs);
    this.refuse(
      ms === o.headersTimeoutMs
        ? "header_timeout"
        : ms === o.requestTimeoutMs
          ? "request_timeout"
          : "stream_idle_timeout",
    );
  };
}

/** The smallest non-zero value, 0 when all are 0. */
function shortest(...values: number[]): number {
  let min = 0;
  for (const v of values) if (v > 0 && (min === 0 || v < min)) min = v;
  return min;
}
