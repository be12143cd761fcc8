/**
 * The client side of an HTTP/1.1 upgrade (WebSocket) on a connected socket of its own: write the
 * request (./serializer.ts), read the answer's head (./response_parser.ts). A 101 hands the socket
 * over with the bytes read after its head (the tunnel's first bytes); any other final answer comes
 * with its body as a Readable (content-length, chunked by ./chunked.ts, or until close), after which
 * the socket is destroyed. 1xx interim answers are skipped.
 *
 * Written for idle tunnels: once the socket is handed over, none of this file's listeners or state
 * stays on it (node:http's client left a ClientRequest, a parser and their listeners behind per
 * handshake).
 */
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import { CHUNK_DATA, CHUNK_DONE, CHUNK_ERROR, ChunkedDecoder } from "./chunked.js";
import { parseResponseHead } from "./response_parser.js";
import { requestHead } from "./serializer.js";
import type { RawHeaders } from "./types.js";

/** Envoy's `max_response_headers_kb` default (as ./client_connection.ts). */
const MAX_HEAD_BYTES = 60 * 1024;
const CRLF2 = Buffer.from("\r\n\r\n");
const EMPTY = Buffer.alloc(0);

export type UpgradeAnswer =
  | {
      upgraded: true;
      /** The 101's header fields as received (names as sent, `upgrade` and `connection` in place). */
      rawHeaders: RawHeaders;
      /** The caller's from now on: not flowing, half-open allowed, with the `onError` listener only. */
      socket: Socket;
      /** Bytes the upstream sent right after the 101 head. */
      head: Buffer;
    }
  | {
      upgraded: false;
      status: number;
      /** Names lower-case, without the hop-by-hop headers (./response_parser.ts). */
      headers: RawHeaders;
      /** The answer's body; destroying it (or reading it to its end) destroys the socket. */
      body: Readable;
    };

/** Why the handshake failed before any final answer. */
export interface UpgradeFailure {
  /** `protocol`: the answer (or our request) was malformed; `closed`: the connection went away. */
  kind: "protocol" | "closed";
  message: string;
}

/**
 * Send `method path` with `headers` (names lower-case, `host` first, `upgrade`/`connection` included:
 * the caller's) on `socket` and call `done` once with the answer or the failure. `onError`: the
 * listener left on a socket handed over (an `error` before the new owner attaches must not crash).
 */
export function upgradeRequest(
  socket: Socket,
  request: { method: string; path: string; headers: RawHeaders },
  onError: (err: Error) => void,
  done: (failure: UpgradeFailure | null, answer: UpgradeAnswer | null) => void,
): void {
  const serialized = requestHead(request);
  if (serialized === null) {
    socket.destroy();
    done({ kind: "protocol", message: "invalid character in the request line or a header" }, null);
    return;
  }
  new Handshake(socket, request.method === "HEAD", onError, done).start(`${serialized.text}\r\n`);
}

enum Framing {
  Length,
  Chunked,
  UntilClose,
}

class Handshake {
  private pending: Buffer | null = null;
  private lastError: Error | null = null;
  private settled = false;
  private body: AnswerBody | null = null;
  private framing = Framing.UntilClose;
  private remaining = 0;
  private decoder: ChunkedDecoder | null = null;

  private readonly onData = (data: Buffer): void => this.read(data);
  private readonly onSocketError = (err: Error): void => {
    this.lastError = err;
  };
  private readonly onEnd = (): void => this.gone();
  private readonly onClose = (): void => this.gone();

  constructor(
    private readonly socket: Socket,
    private readonly headRequest: boolean,
    private readonly onError: (err: Error) => void,
    private readonly done: (failure: UpgradeFailure | null, answer: UpgradeAnswer | null) => void,
  ) {}

  start(text: string): void {
    const socket = this.socket;
    socket.on("data", this.onData);
    socket.on("error", this.onSocketError);
    socket.on("end", this.onEnd);
    socket.on("close", this.onClose);
    socket.write(text, "latin1");
  }

  private read(data: Buffer): void {
    let buf = data;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, data]);
      this.pending = null;
    }
    if (this.body !== null) {
      this.feed(buf, 0);
      return;
    }
    let at = 0;
    for (;;) {
      const end = buf.indexOf(CRLF2, at);
      if (end < 0 || end - at > MAX_HEAD_BYTES) {
        if (end >= 0 || buf.length - at > MAX_HEAD_BYTES) this.fail("protocol", "response headers too large");
        else this.pending = Buffer.from(buf.subarray(at));
        return;
      }
      const text = buf.toString("latin1", at, end);
      at = end + 4;
      const parsed = parseResponseHead(text);
      if (typeof parsed === "string") {
        this.fail("protocol", parsed);
        return;
      }
      if (parsed.status === 101) {
        this.handOver(text, buf, at);
        return;
      }
      // 100 Continue and other interim answers: the final answer follows.
      if (parsed.status < 200) continue;
      this.answer(parsed.status, parsed.headers, parsed.contentLength, parsed.chunked);
      if (at < buf.length) this.feed(buf, at);
      return;
    }
  }

  private handOver(text: string, buf: Buffer, at: number): void {
    const socket = this.socket;
    this.detach();
    socket.on("error", this.onError);
    // A tunnel half-closes each way: the upstream's FIN must not end our side. Set before the next
    // read (the FIN comes in an event of its own).
    socket.allowHalfOpen = true;
    // Neither flowing nor paused (as node:http hands an upgraded socket over): what comes is held in
    // the socket until its new owner adds a 'data' listener, which starts the flow.
    (socket as { readableFlowing: boolean | null }).readableFlowing = null;
    this.settled = true;
    // A copy: a view would keep the whole read buffer alive for the tunnel's life.
    const head = at < buf.length ? Buffer.from(buf.subarray(at)) : EMPTY;
    this.done(null, { upgraded: true, rawHeaders: fieldLines(text), socket, head });
  }

  private answer(status: number, headers: RawHeaders, length: number, chunked: boolean): void {
    const body = new AnswerBody(this.socket);
    this.body = body;
    this.settled = true;
    const bodiless = this.headRequest || status === 204 || status === 304;
    if (chunked && !bodiless) {
      this.framing = Framing.Chunked;
      this.decoder = new ChunkedDecoder(MAX_HEAD_BYTES);
    } else if (length >= 0 || bodiless) {
      this.framing = Framing.Length;
      this.remaining = bodiless ? 0 : length;
    }
    this.done(null, { upgraded: false, status, headers, body });
    if (this.framing === Framing.Length && this.remaining === 0) this.bodyEnd();
  }

  /** Body bytes of a refusal. */
  private feed(buf: Buffer, from: number): void {
    const body = this.body as AnswerBody;
    let at = from;
    while (at < buf.length && !body.destroyed && !body.ended) {
      if (this.framing === Framing.UntilClose) {
        this.push(at === 0 ? buf : buf.subarray(at));
        return;
      }
      if (this.framing === Framing.Length) {
        const n = Math.min(this.remaining, buf.length - at);
        this.remaining -= n;
        this.push(buf.subarray(at, at + n));
        at += n;
        if (this.remaining === 0) this.bodyEnd();
        continue;
      }
      const decoder = this.decoder as ChunkedDecoder;
      at = decoder.decode(buf, at, buf.length);
      if (decoder.event === CHUNK_DATA) this.push(decoder.data);
      else if (decoder.event === CHUNK_DONE) this.bodyEnd();
      else if (decoder.event === CHUNK_ERROR) {
        body.destroy(codeError("HPE_INVALID_CHUNK_SIZE", decoder.error));
        return;
      } else {
        if (at < buf.length) this.pending = Buffer.from(buf.subarray(at));
        return;
      }
    }
  }

  private push(chunk: Buffer): void {
    if (chunk.length > 0 && !(this.body as AnswerBody).push(chunk)) this.socket.pause();
  }

  private bodyEnd(): void {
    const body = this.body as AnswerBody;
    body.ended = true;
    // Its reader sees the end; autoDestroy then destroys it, and with it the socket.
    body.push(null);
  }

  /** The socket ended or closed. */
  private gone(): void {
    const body = this.body;
    if (body !== null) {
      if (body.ended || body.destroyed) return;
      if (this.framing === Framing.UntilClose) this.bodyEnd();
      else body.destroy(this.closedError());
      return;
    }
    if (!this.settled) this.fail("closed", this.lastError?.message ?? "socket hang up");
  }

  private closedError(): Error {
    return codeError("ECONNRESET", this.lastError?.message ?? "upstream closed before the response ended");
  }

  private fail(kind: UpgradeFailure["kind"], message: string): void {
    if (this.settled) return;
    this.settled = true;
    this.socket.destroy();
    this.done({ kind, message }, null);
  }

  private detach(): void {
    const socket = this.socket;
    socket.removeListener("data", this.onData);
    socket.removeListener("error", this.onSocketError);
    socket.removeListener("end", this.onEnd);
    socket.removeListener("close", this.onClose);
  }
}

/** The body of a refused upgrade: read with backpressure; the socket goes with it. */
class AnswerBody extends Readable {
  /** Its last byte was pushed. */
  ended = false;

  constructor(private readonly socket: Socket) {
    super();
  }

  override _read(): void {
    this.socket.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Not upgraded: the connection serves this one answer only.
    this.socket.destroy();
    cb(err);
  }
}

/** The header fields of a (validated) head as sent: names as they came, values trimmed. */
function fieldLines(text: string): RawHeaders {
  const out: RawHeaders = [];
  let at = text.indexOf("\r\n");
  if (at < 0) return out;
  at += 2;
  while (at < text.length) {
    let end = text.indexOf("\r\n", at);
    if (end < 0) end = text.length;
    const colon = text.indexOf(":", at);
    out.push(text.slice(at, colon), text.slice(colon + 1, end).trim());
    at = end + 2;
  }
  return out;
}

function codeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}
