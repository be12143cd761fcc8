/**
 * The one chunked body decoder (RFC 9112 §7.1) of both connections, server and client: chunk-size
 * lines (1 to 13 hex digits, optional whitespace, extensions skipped), chunk data, the CR LF after it,
 * trailer fields (names lower-case), with limits on line lengths. It reads a buffer it does not own
 * and stops at each data chunk, so the caller can deliver it and look at its own state before going on
 * (a delivery may end the exchange). No allocation but the data views and the trailers.
 */
import { lineEnd, MALFORMED, parseField } from "./syntax.js";
import type { RawHeaders } from "./types.js";

/** `decode` stopped: more bytes are needed (all given were consumed, or a line is incomplete). */
export const CHUNK_MORE = 0;
/** `decode` stopped after a data chunk, in `data`. */
export const CHUNK_DATA = 1;
/** The body ended (after its trailers, in `trailers`). */
export const CHUNK_DONE = 2;
/** The body is malformed (`error` says why); nothing more can be read from the connection. */
export const CHUNK_ERROR = 3;

/** Longest chunk-size line (size, extensions) accepted. */
const MAX_CHUNK_LINE = 4096;
const EMPTY = Buffer.alloc(0);

enum State {
  Size,
  Data,
  DataEnd,
  Trailers,
  Done,
}

export class ChunkedDecoder {
  /** Why the last `decode` returned: CHUNK_MORE, CHUNK_DATA, CHUNK_DONE or CHUNK_ERROR. */
  event = CHUNK_MORE;
  /** The data chunk of a CHUNK_DATA: a view of the caller's buffer. */
  data: Buffer = EMPTY;
  /** Why a CHUNK_ERROR. */
  error = "";
  /** The trailer fields read so far (names lower-case); null when none. */
  trailers: RawHeaders | null = null;
  private state = State.Size;
  private remaining = 0;

  /** `maxTrailerBytes`: the longest trailer line accepted (a proxy's header limit). */
  constructor(private readonly maxTrailerBytes: number) {}

  /** Ready for the next body. */
  reset(): void {
    this.state = State.Size;
    this.remaining = 0;
    this.trailers = null;
    this.data = EMPTY;
    this.event = CHUNK_MORE;
  }

  /**
   * Read buf[at, end) up to the next data chunk, the end of the body or an error; returns the position
   * reached, `event` says which. On CHUNK_MORE, bytes from the position returned (a partial line) must
   * be given again with what follows.
   */
  decode(buf: Buffer, at: number, end: number): number {
    let pos = at;
    while (pos < end) {
      switch (this.state) {
        case State.Size: {
          const eol = lineEnd(buf, pos, end);
          if (eol === MALFORMED) return this.fail(pos, "bad chunk size");
          if (eol < 0) {
            if (end - pos > MAX_CHUNK_LINE) return this.fail(pos, "chunk size line too long");
            this.event = CHUNK_MORE;
            return pos;
          }
          const size = chunkSize(buf, pos, eol);
          if (size < 0) return this.fail(pos, "bad chunk size");
          pos = eol + 2;
          if (size === 0) this.state = State.Trailers;
          else {
            this.remaining = size;
            this.state = State.Data;
          }
          break;
        }
        case State.Data: {
          const n = Math.min(this.remaining, end - pos);
          this.data = buf.subarray(pos, pos + n);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = State.DataEnd;
          this.event = CHUNK_DATA;
          return pos;
        }
        case State.DataEnd: {
          if (end - pos < 2) {
            this.event = CHUNK_MORE;
            return pos;
          }
          if (buf[pos] !== 13 || buf[pos + 1] !== 10) return this.fail(pos, "bad chunk end");
          pos += 2;
          this.state = State.Size;
          break;
        }
        case State.Trailers: {
          const eol = lineEnd(buf, pos, end);
          if (eol === MALFORMED) return this.fail(pos, "bad trailer");
          if (eol < 0) {
            if (end - pos > this.maxTrailerBytes) return this.fail(pos, "trailers too large");
            this.event = CHUNK_MORE;
            return pos;
          }
          if (eol === pos) {
            this.state = State.Done;
            this.event = CHUNK_DONE;
            return pos + 2;
          }
          const field = parseField(buf.toString("latin1", pos, eol));
          if (field === null) return this.fail(pos, "bad trailer");
          pos = eol + 2;
          this.trailers ??= [];
          this.trailers.push(field[0].toLowerCase(), field[1]);
          break;
        }
        case State.Done:
          this.event = CHUNK_DONE;
          return pos;
      }
    }
    this.event = this.state === State.Done ? CHUNK_DONE : CHUNK_MORE;
    return pos;
  }

  private fail(pos: number, error: string): number {
    this.error = error;
    this.event = CHUNK_ERROR;
    return pos;
  }
}

/**
 * buf[from, to) as a chunk-size line, `1*13HEXDIG [BWS] [; extensions]` (RFC 9112 §7.1.1; 13 digits
 * stay exact in a number) -> the size; -1 when malformed: a control character (but HTAB) anywhere,
 * no digit, too many, anything but whitespace before the `;`.
 */
export function chunkSize(buf: Buffer, from: number, to: number): number {
  let size = 0;
  let at = from;
  for (; at < to; at++) {
    const c = buf[at] as number;
    const digit =
      c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (digit < 0) break;
    size = size * 16 + digit;
  }
  if (at === from || at - from > 13) return -1;
  while (at < to && (buf[at] === 32 || buf[at] === 9)) at++;
  if (at < to && buf[at] !== 59) return -1;
  // Extensions are skipped, but must hold no control characters.
  for (; at < to; at++) {
    const c = buf[at] as number;
    if ((c < 32 && c !== 9) || c === 127) return -1;
  }
  return size;
}
