import type { Duplex } from "node:stream";

export interface SpliceOptions {
  /** Destroy both sides after this long without a byte in either direction; 0 disables. */
  idleTimeoutMs: number;
  /**
   * Called once, before both sides are destroyed, when `side` failed: an error, or a close that did
   * not come after its end (a reset). Not called for a clean end or the idle timeout.
   */
  onAbort?: (side: Duplex) => void;
  /** Called once when both sides are gone (e.g. to count `downstream_cx_upgrades_active`). */
  onClose?: () => void;
}

/**
 * Joins two byte streams (a downstream socket or HTTP/2 stream and an upstream one) into a tunnel:
 * what one side reads is written to the other with backpressure, and an end (FIN / END_STREAM) is
 * passed on as an end, so each direction half-closes on its own: a client may send its last message
 * and FIN, and still read the answer. Sockets must be half-open (`allowHalfOpen`) for that.
 *
 * The tunnel closes when:
 * - both sides have closed after their ends (a clean close: nothing is reset, so an HTTP/2 peer
 *   sees no RST_STREAM per tunnel, which nghttp2 would count as a "rapid reset" flood);
 * - one side closed cleanly while the other still reads: what the other sends has nowhere to go,
 *   so it is read and dropped, and the other side is destroyed once its own writes are flushed
 *   (neither side is left paused, waiting for a FIN nobody reads);
 * - one side errors or closes without its end (a reset): both are destroyed (`onAbort` first);
 * - nothing moved either way for `idleTimeoutMs` (unref'd; refreshed by traffic either way, and
 *   once one side has closed, by the other's flush only).
 *
 * Written by hand rather than with two `pipe()`s: an idle tunnel is mostly its sockets, and each
 * pipe added a dozen closures, two `once` wrappers and its own bookkeeping per direction. Here a
 * tunnel is one object; both sides point to it (SPLICE) and share module-level listeners.
 */
export function splice(a: Duplex, b: Duplex, opts: SpliceOptions): void {
  const t = new Splice(a, b, opts);
  (a as Spliced)[SPLICE] = t;
  (b as Spliced)[SPLICE] = t;
  for (const side of [a, b]) {
    side.on("data", onData);
    side.on("end", onEnd);
    side.on("drain", onDrain);
    side.on("error", onError);
    side.on("close", onClose);
  }
  if (opts.idleTimeoutMs > 0) {
    t.timer = setTimeout(destroyBoth, opts.idleTimeoutMs, t);
    t.timer.unref();
  }
  if (a.destroyed) t.abort(a);
  else if (b.destroyed) t.abort(b);
  else {
    // A socket handed over paused (the codec holds it until its new owner reads) starts flowing.
    a.resume();
    b.resume();
  }
}

const SPLICE: unique symbol = Symbol("echomesh.splice");

interface Spliced extends Duplex {
  [SPLICE]: Splice;
}

class Splice {
  timer: NodeJS.Timeout | null = null;
  private done = false;
  /** One side has closed cleanly (`closed`); the other is being closed and what it sends is dropped. */
  private closing = false;
  private closed: Duplex | null = null;
  /** The side paused until the other drains. */
  private pausedA = false;
  private pausedB = false;

  constructor(
    readonly a: Duplex,
    readonly b: Duplex,
    private readonly opts: SpliceOptions,
  ) {}

  other(side: Duplex): Duplex {
    return side === this.a ? this.b : this.a;
  }

  data(from: Duplex, chunk: Buffer): void {
    if (this.closing) return;
    this.timer?.refresh();
    if (this.other(from).write(chunk)) return;
    from.pause();
    if (from === this.a) this.pausedA = true;
    else this.pausedB = true;
  }

  /** `side` flushed: the side writing into it goes on; after a close, the flush is the only traffic. */
  drain(side: Duplex): void {
    if (this.closing) {
      this.timer?.refresh();
      return;
    }
    if (side === this.b && this.pausedA) {
      this.pausedA = false;
      this.a.resume();
    } else if (side === this.a && this.pausedB) {
      this.pausedB = false;
      this.b.resume();
    }
  }

  end(from: Duplex): void {
    if (this.done) return;
    const to = this.other(from);
    if (to !== this.closed && !to.destroyed) to.end();
  }

  abort(side: Duplex): void {
    if (this.done) return;
    if (!this.closing) this.opts.onAbort?.(side);
    this.destroyBoth();
  }

  close(from: Duplex): void {
    if (this.done) return;
    if (this.closing) {
      this.finish();
      return;
    }
    if (!from.readableEnded) {
      this.abort(from);
      return;
    }
    this.closing = true;
    this.closed = from;
    const to = this.other(from);
    // Destroyed already: its 'close' is on its way.
    if (to.destroyed) return;
    // `from` ended both ways and its end went to `to`. Drop what `to` still sends (undoing any
    // backpressure pause); close it once its writes are out (at once if they are).
    to.resume();
    if (to.writableFinished) to.destroy();
    else to.once("finish", destroySelf);
  }

  destroyBoth(): void {
    if (this.done) return;
    this.a.destroy();
    this.b.destroy();
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.opts.onClose?.();
  }
}

// Listeners shared by every tunnel: `this` is the side that emitted.
function onData(this: Spliced, chunk: Buffer): void {
  this[SPLICE].data(this, chunk);
}
function onEnd(this: Spliced): void {
  this[SPLICE].end(this);
}
function onDrain(this: Spliced): void {
  this[SPLICE].drain(this);
}
function onError(this: Spliced): void {
  this[SPLICE].abort(this);
}
function onClose(this: Spliced): void {
  this[SPLICE].close(this);
}
function destroySelf(this: Duplex): void {
  this.destroy();
}
function destroyBoth(t: Splice): void {
  t.destroyBoth();
}
