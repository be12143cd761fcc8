/**
 * Splits a byte stream into HTTP/2 frames. Payloads are views into the socket's chunks (no copy) unless
 * a frame spans chunks, when the pieces are joined once. A frame longer than our SETTINGS_MAX_FRAME_SIZE
 * is reported before its payload arrives (RFC 9113 4.2: FRAME_SIZE_ERROR).
 */
import { FRAME_HEADER_SIZE } from "./frames.js";

export interface FrameSink {
  /** One frame; return false to stop reading (the connection is closing). */
  onFrame(type: number, flags: number, streamId: number, payload: Buffer): boolean;
  onOversizedFrame(type: number, length: number, streamId: number): void;
}

export class FrameReader {
  private pending: Buffer | null = null;
  stopped = false;

  constructor(
    private readonly sink: FrameSink,
    public maxFrameSize: number,
  ) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let o = 0;
    const end = buf.length;
    while (!this.stopped && end - o >= FRAME_HEADER_SIZE) {
      const length = ((buf[o] as number) << 16) | ((buf[o + 1] as number) << 8) | (buf[o + 2] as number);
      const type = buf[o + 3] as number;
      const streamId = buf.readUInt32BE(o + 5) & 0x7fffffff;
      if (length > this.maxFrameSize) {
        this.stopped = true;
        this.sink.onOversizedFrame(type, length, streamId);
        return;
      }
      if (end - o - FRAME_HEADER_SIZE < length) break;
      const flags = buf[o + 4] as number;
      const start = o + FRAME_HEADER_SIZE;
      o = start + length;
      if (!this.sink.onFrame(type, flags, streamId, buf.subarray(start, o))) {
        this.stopped = true;
        return;
      }
    }
    if (o < end && !this.stopped) this.pending = o === 0 ? buf : Buffer.from(buf.subarray(o));
  }
}
