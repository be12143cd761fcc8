/**
 * Raw HTTP/2 (h2c prior knowledge) frames for the attack clients: what an attacker writes, with no
 * client library deciding for it (node:http2 would wait for the server's SETTINGS_MAX_CONCURRENT_STREAMS
 * and queue the rest). Requests are encoded once per path; responses are read far enough to count
 * them: the `:status` of each response HEADERS, RST_STREAM and GOAWAY from the server. The client
 * announces SETTINGS_HEADER_TABLE_SIZE 0, so the server's HPACK encoder cannot refer to its dynamic
 * table and the status is either a static-table index or a literal (RFC 7541 4.2, 6.1, 6.2).
 */
import { connect, type Socket } from "node:net";
import { ignoreErrorHandledOnClose } from "../../lib/errors.js";

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export const FrameType = {
  DATA: 0,
  HEADERS: 1,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
} as const;

const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
/** RST_STREAM error code of a client that gave up on a stream (RFC 9113 7). */
export const CANCEL = 0x8;

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

export function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/**
 * The client's connection start: preface, SETTINGS (no push, no HPACK dynamic table, the largest
 * stream window) and a WINDOW_UPDATE opening the connection window as far as it goes, so the server
 * never waits on the attacker's flow control.
 */
export function clientStart(): Buffer {
  const settings = Buffer.alloc(18);
  settings.writeUInt16BE(0x1, 0); // HEADER_TABLE_SIZE
  settings.writeUInt32BE(0, 2);
  settings.writeUInt16BE(0x2, 6); // ENABLE_PUSH
  settings.writeUInt32BE(0, 8);
  settings.writeUInt16BE(0x4, 12); // INITIAL_WINDOW_SIZE
  settings.writeUInt32BE(0x7fffffff, 14);
  const increment = Buffer.alloc(4);
  increment.writeUInt32BE(0x7fffffff - 65_535, 0);
  return Buffer.concat([
    PREFACE,
    frame(FrameType.SETTINGS, 0, 0, settings),
    frame(FrameType.WINDOW_UPDATE, 0, 0, increment),
  ]);
}

/** HPACK integer with an N-bit prefix (RFC 7541 5.1); `first` holds the bits above the prefix. */
function hpackInt(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

/** Literal header field without indexing, indexed name (RFC 7541 6.2.2), raw (not Huffman) value. */
function literal(nameIndex: number, value: string): number[] {
  const bytes = Buffer.from(value, "latin1");
  return [...hpackInt(nameIndex, 4, 0x00), ...hpackInt(bytes.length, 7, 0x00), ...bytes];
}

/** The header block of `GET <path>` to `authority` (static-table :method GET, :scheme http). */
export function getHeaderBlock(path: string, authority: string): Buffer {
  const fields = [0x82, 0x86]; // :method GET, :scheme http
  fields.push(...(path === "/" ? [0x84] : literal(4, path)), ...literal(1, authority));
  return Buffer.from(fields);
}

/** HEADERS (END_STREAM, END_HEADERS) opening stream `streamId` with a pre-encoded block. */
export function headersFrame(streamId: number, block: Buffer): Buffer {
  return frame(FrameType.HEADERS, END_STREAM | END_HEADERS, streamId, block);
}

export function rstStreamFrame(streamId: number, code = CANCEL): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code, 0);
  return frame(FrameType.RST_STREAM, 0, streamId, p);
}

/** Static-table entries 8-14 (RFC 7541 Appendix A): the only `:status` values with an index. */
const STATIC_STATUS: Record<number, number> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };

/**
 * A Huffman-coded run of digits (RFC 7541 Appendix B: '0'-'2' are the 5-bit codes 0-2, '3'-'9' the
 * 6-bit codes 0x19-0x1f); the padding after three digits is ignored. Null for anything else.
 */
function huffmanDigits(bytes: Buffer): string | null {
  let bits = "";
  for (const b of bytes) bits += b.toString(2).padStart(8, "0");
  let out = "";
  let i = 0;
  while (out.length < 3) {
    if (i + 5 > bits.length) return null;
    const five = Number.parseInt(bits.slice(i, i + 5), 2);
    if (five <= 2) {
      out += String(five);
      i += 5;
      continue;
    }
    if (i + 6 > bits.length) return null;
    const six = Number.parseInt(bits.slice(i, i + 6), 2);
    if (six < 0x19 || six > 0x1f) return null;
    out += String(six - 0x19 + 3);
    i += 6;
  }
  return out;
}

/** Reads an HPACK integer with an N-bit prefix at `at`; returns [value, next offset] or null. */
function readInt(block: Buffer, at: number, prefixBits: number): [number, number] | null {
  const max = (1 << prefixBits) - 1;
  let value = (block[at] ?? 0) & max;
  let i = at + 1;
  if (value < max) return [value, i];
  let shift = 0;
  for (;;) {
    const b = block[i++];
    if (b === undefined) return null;
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return [value, i];
  }
}

/**
 * The `:status` of a response header block (the first field, RFC 9113 8.3.2), or null when it is not
 * one this reader understands (a dynamic-table reference: the server ignored HEADER_TABLE_SIZE 0).
 */
export function decodeStatus(block: Buffer): number | null {
  let i = 0;
  // dynamic table size updates (001xxxxx) may come first
  while (i < block.length && ((block[i] as number) & 0xe0) === 0x20) {
    const r = readInt(block, i, 5);
    if (r === null) return null;
    i = r[1];
  }
  const b = block[i];
  if (b === undefined) return null;
  if ((b & 0x80) !== 0) {
    const r = readInt(block, i, 7);
    return r === null ? null : (STATIC_STATUS[r[0]] ?? null);
  }
  // literal: incremental indexing (01, 6-bit index) or without / never indexed (0000 / 0001, 4 bits)
  const name = (b & 0x40) !== 0 ? readInt(block, i, 6) : readInt(block, i, 4);
  if (name === null || name[0] < 8 || name[0] > 14) return null;
  i = name[1];
  const huffman = ((block[i] ?? 0) & 0x80) !== 0;
  const len = readInt(block, i, 7);
  if (len === null) return null;
  const value = block.subarray(len[1], len[1] + len[0]);
  const text = huffman ? huffmanDigits(value) : value.toString("latin1");
  return text !== null && /^\d{3}$/.test(text) ? Number(text) : null;
}

/** Splits a byte stream into frames; `onFrame` is called for each whole frame. */
export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (f: Frame) => void) {}

  push(chunk: Buffer): void {
    let buf = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      this.onFrame({
        type: buf[3] as number,
        flags: buf[4] as number,
        streamId: buf.readUInt32BE(5) & 0x7fffffff,
        payload: buf.subarray(9, 9 + len),
      });
      buf = buf.subarray(9 + len);
    }
    this.buffered = buf;
  }
}

/** What one attacking connection saw from the server. */
export interface ConnTally {
  /** Streams the client opened (HEADERS written). */
  opened: number;
  /** Response HEADERS by `:status` ("?" when unreadable). */
  statuses: Record<string, number>;
  /** RST_STREAM from the server by error code (7 = REFUSED_STREAM). */
  resets: Record<string, number>;
  /** GOAWAY error code, when the server sent one. */
  goaway: number | null;
  /** The server closed the connection (FIN or RST) before the client did. */
  closedByServer: boolean;
  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS; null: not sent (no limit). */
  maxConcurrentStreams: number | null;
}

export function emptyTally(): ConnTally {
  return {
    opened: 0,
    statuses: {},
    resets: {},
    goaway: null,
    closedByServer: false,
    maxConcurrentStreams: null,
  };
}

const bump = (m: Record<string, number>, k: string): void => {
  m[k] = (m[k] ?? 0) + 1;
};

/** An h2c connection driven by hand: ACKs the server's SETTINGS and PINGs, tallies what comes back. */
export class RawH2Client {
  readonly tally = emptyTally();
  /** Streams opened and not yet ended by the server (END_STREAM or RST_STREAM); see `opened`. */
  readonly live = new Set<number>();
  private closing = false;
  private readonly closed: Promise<void>;
  private settingsSeen: () => void = () => undefined;
  /** Resolves with the server's first SETTINGS. */
  readonly settings: Promise<void> = new Promise((resolve) => {
    this.settingsSeen = resolve;
  });
  /** Called whenever a stream of `live` ends. */
  onStreamEnd: () => void = () => undefined;

  private constructor(readonly socket: Socket) {
    const reader = new FrameReader((f) => this.onFrame(f));
    socket.on("data", (c: Buffer) => reader.push(c));
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        if (!this.closing) this.tally.closedByServer = true;
        resolve();
      });
    });
    // a reset or EPIPE from a server that closed the connection: 'close' follows and counts it
    socket.on("error", ignoreErrorHandledOnClose);
  }

  /** Connects to 127.0.0.1:port and writes the client's connection start. */
  static connect(port: number): Promise<RawH2Client> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: "127.0.0.1", noDelay: true });
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        const client = new RawH2Client(socket);
        socket.write(clientStart());
        resolve(client);
      });
    });
  }

  get open(): boolean {
    return !this.socket.destroyed && !this.tally.closedByServer;
  }

  /** Writes `buf` and resolves once the socket can take more (or is gone). */
  write(buf: Buffer): Promise<void> {
    if (!this.open) return Promise.resolve();
    if (this.socket.write(buf)) return new Promise((resolve) => setImmediate(resolve));
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
  }

  /** Resolves when the server closes the connection or after `ms`, whichever comes first. */
  waitClosed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      void this.closed.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The client leaves: the connection is closed at once (TCP RST not needed: a FIN is what clients send). */
  async close(): Promise<void> {
    this.closing = true;
    this.socket.destroy();
    await this.closed;
  }

  /** Records streams the caller has written HEADERS for (ids), for `live`. */
  opened(ids: number[]): void {
    for (const id of ids) this.live.add(id);
    this.tally.opened += ids.length;
  }

  private ended(id: number): void {
    if (this.live.delete(id)) this.onStreamEnd();
  }

  private onFrame(f: Frame): void {
    if ((f.type === FrameType.HEADERS || f.type === FrameType.DATA) && (f.flags & END_STREAM) !== 0)
      this.ended(f.streamId);
    switch (f.type) {
      case FrameType.SETTINGS:
        if ((f.flags & ACK) !== 0) break;
        for (let i = 0; i + 6 <= f.payload.length; i += 6)
          if (f.payload.readUInt16BE(i) === 0x3)
            this.tally.maxConcurrentStreams = f.payload.readUInt32BE(i + 2);
        this.socket.write(frame(FrameType.SETTINGS, ACK, 0));
        this.settingsSeen();
        break;
      case FrameType.PING:
        if ((f.flags & ACK) === 0) this.socket.write(frame(FrameType.PING, ACK, 0, f.payload));
        break;
      case FrameType.HEADERS: {
        // a response HEADERS (trailers would come after DATA; the attack paths send none)
        const status = (f.flags & END_HEADERS) !== 0 ? decodeStatus(headerBlock(f)) : null;
        bump(this.tally.statuses, status === null ? "?" : String(status));
        break;
      }
      case FrameType.RST_STREAM:
        bump(this.tally.resets, String(f.payload.readUInt32BE(0)));
        this.ended(f.streamId);
        break;
      case FrameType.GOAWAY:
        this.tally.goaway = f.payload.readUInt32BE(4);
        break;
      default:
        break;
    }
  }
}

/** A HEADERS payload without its padding and priority fields (RFC 9113 6.2). */
function headerBlock(f: Frame): Buffer {
  let p = f.payload;
  let pad = 0;
  if ((f.flags & 0x8) !== 0) {
    pad = p[0] ?? 0;
    p = p.subarray(1);
  }
  if ((f.flags & 0x20) !== 0) p = p.subarray(5);
  return p.subarray(0, p.length - pad);
}
