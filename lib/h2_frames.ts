/**
 * Raw HTTP/2 frames (RFC 9113) for clients that must write exactly what they mean, with no client
 * library deciding for them (node:http2 would wait for the server's SETTINGS_MAX_CONCURRENT_STREAMS,
 * queue the rest, answer every PING): the load generator's attack clients and the hardening tests.
 * Writing: frames, SETTINGS, WINDOW_UPDATE, RST_STREAM and the HEADERS of a GET (HPACK without the
 * dynamic table or Huffman). Reading: a frame splitter and the `:status` of a response header block,
 * for a client that announced SETTINGS_HEADER_TABLE_SIZE 0 (RFC 7541 4.2, 6.1, 6.2).
 */
export { H2_PREFACE } from "./h2c_sniff.js";

import { ErrorCode, Flag as FrameFlag, FrameType, SettingId as Setting } from "./http2/frames.js";

/** Frame types, flags and SETTINGS ids are our HTTP/2 layer's (lib/http2/frames.ts), under the names these clients use. */
export { FrameFlag, FrameType, Setting };

/** RST_STREAM error code of a client that gave up on a stream (RFC 9113 7). */
export const CANCEL: number = ErrorCode.CANCEL;

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

/** SETTINGS with `[id, value]` pairs, in order. */
export function settingsFrame(pairs: ReadonlyArray<readonly [number, number]>): Buffer {
  const payload = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, 6 * i);
    payload.writeUInt32BE(value, 6 * i + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, payload);
}

/** WINDOW_UPDATE of `increment` bytes on `streamId` (0: the connection). */
export function windowUpdateFrame(increment: number, streamId = 0): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(increment, 0);
  return frame(FrameType.WINDOW_UPDATE, 0, streamId, p);
}

export function rstStreamFrame(streamId: number, code = CANCEL): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code, 0);
  return frame(FrameType.RST_STREAM, 0, streamId, p);
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
  return frame(FrameType.HEADERS, FrameFlag.END_STREAM | FrameFlag.END_HEADERS, streamId, block);
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

/** A HEADERS payload without its padding and priority fields (RFC 9113 6.2). */
export function headerBlock(f: Frame): Buffer {
  let p = f.payload;
  let pad = 0;
  if ((f.flags & FrameFlag.PADDED) !== 0) {
    pad = p[0] ?? 0;
    p = p.subarray(1);
  }
  if ((f.flags & FrameFlag.PRIORITY) !== 0) p = p.subarray(5);
  return p.subarray(0, p.length - pad);
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
