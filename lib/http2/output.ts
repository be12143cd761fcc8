/**
 * The connection's outgoing bytes. Frames are written into a slab (one allocation per 16 KiB of small
 * frames); large DATA payloads are queued as they are (no copy). `flush()` hands everything to the
 * socket in one write, or one writev when there are several pieces. The slab is allocated on first use
 * and let go once nearly full, so an idle connection holds at most one partly used slab.
 */
import type { Socket } from "node:net";

const SLAB_SIZE = 16 * 1024;
/** After a flush, a slab with less room than this is dropped rather than kept for the next frames. */
const SLAB_KEEP = 2 * 1024;
const NO_SLAB = Buffer.alloc(0);

export class Output {
  /** Current slab; frame writers write at `end` after `reserve()`. */
  slab: Buffer = NO_SLAB;
  end = 0;
  private start = 0;
  private readonly chunks: Buffer[] = [];

  constructor(private readonly socket: Socket) {}

  /** Makes room for `n` bytes at `slab[end]` and returns the slab. */
  reserve(n: number): Buffer {
    if (this.slab.length - this.end < n) {
      this.commit();
      this.slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, n));
      this.start = 0;
      this.end = 0;
    }
    return this.slab;
  }

  /** Queues `buf` after what the slab holds; `buf` must not change until written. */
  append(buf: Buffer): void {
    this.commit();
    this.chunks.push(buf);
  }

  get empty(): boolean {
    return this.end === this.start && this.chunks.length === 0;
  }

  flush(): void {
    this.commit();
    const n = this.chunks.length;
    if (n === 0 || this.socket.destroyed || this.socket.writableEnded) {
      this.chunks.length = 0;
      return;
    }
    if (n === 1) {
      this.socket.write(this.chunks[0] as Buffer);
    } else {
      this.socket.cork();
      for (let i = 0; i < n; i++) this.socket.write(this.chunks[i] as Buffer);
      this.socket.uncork();
    }
    this.chunks.length = 0;
    if (this.slab.length - this.end < SLAB_KEEP) {
      this.slab = NO_SLAB;
      this.start = 0;
      this.end = 0;
    }
  }

  // The slab's unwritten region becomes a chunk; the slab is never written below `end` again.
  private commit(): void {
    if (this.end > this.start) {
      this.chunks.push(this.slab.subarray(this.start, this.end));
      this.start = this.end;
    }
  }
}
