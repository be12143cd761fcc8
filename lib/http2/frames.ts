/**
 * HTTP/2 frames (RFC 9113 4, 6): types, flags, error codes, settings, the frame header, and writers
 * of every frame type into a caller's buffer (no allocation per frame).
 */

export const FRAME_HEADER_SIZE = 9;
/** The client connection preface (RFC 9113 3.4): the one the h2c sniff looks for. */
export { H2_PREFACE as PREFACE } from "../h2c_sniff.js";

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Error codes (RFC 9113 7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

/** SETTINGS identifiers (RFC 9113 6.5.2, RFC 8441 3). */
export const SettingId = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
  ENABLE_CONNECT_PROTOCOL: 0x8,
} as const;

export const DEFAULT_WINDOW = 65_535;
export const MAX_WINDOW = 0x7fffffff;
export const MIN_MAX_FRAME_SIZE = 16_384;
export const MAX_MAX_FRAME_SIZE = 16_777_215;

/** Writes a frame header at `dst[o]`; returns `o + 9`. */
export function writeFrameHeader(
  dst: Buffer,
  o: number,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): number {
  dst[o] = length >>> 16;
  dst[o + 1] = (length >>> 8) & 0xff;
  dst[o + 2] = length & 0xff;
  dst[o + 3] = type;
  dst[o + 4] = flags;
  dst.writeUInt32BE(streamId & 0x7fffffff, o + 5);
  return o + FRAME_HEADER_SIZE;
}

/** SETTINGS with `[id, value]` pairs (empty with ACK). */
export function writeSettings(dst: Buffer, o: number, pairs: readonly number[], ack = false): number {
  let p = writeFrameHeader(dst, o, (pairs.length / 2) * 6, FrameType.SETTINGS, ack ? Flag.ACK : 0, 0);
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    dst.writeUInt16BE(pairs[i] as number, p);
    dst.writeUInt32BE(pairs[i + 1] as number, p + 2);
    p += 6;
  }
  return p;
}

export function writeWindowUpdate(dst: Buffer, o: number, streamId: number, increment: number): number {
  const p = writeFrameHeader(dst, o, 4, FrameType.WINDOW_UPDATE, 0, streamId);
  dst.writeUInt32BE(increment, p);
  return p + 4;
}

export function writeRstStream(dst: Buffer, o: number, streamId: number, code: number): number {
  const p = writeFrameHeader(dst, o, 4, FrameType.RST_STREAM, 0, streamId);
  dst.writeUInt32BE(code, p);
  return p + 4;
}

export function writePing(dst: Buffer, o: number, payload: Uint8Array, ack: boolean): number {
  const p = writeFrameHeader(dst, o, 8, FrameType.PING, ack ? Flag.ACK : 0, 0);
  dst.set(payload.subarray(0, 8), p);
  return p + 8;
}

export function writeGoaway(dst: Buffer, o: number, lastStreamId: number, code: number, debug = ""): number {
  const p = writeFrameHeader(dst, o, 8 + debug.length, FrameType.GOAWAY, 0, 0);
  dst.writeUInt32BE(lastStreamId & 0x7fffffff, p);
  dst.writeUInt32BE(code, p + 4);
  return p + 8 + dst.write(debug, p + 8, "latin1");
}

export function writePriority(
  dst: Buffer,
  o: number,
  streamId: number,
  dependency: number,
  weight: number,
): number {
  const p = writeFrameHeader(dst, o, 5, FrameType.PRIORITY, 0, streamId);
  dst.writeUInt32BE(dependency, p);
  dst[p + 4] = weight;
  return p + 5;
}
