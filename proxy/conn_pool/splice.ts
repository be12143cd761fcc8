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
 * each side is piped into the other with backpressure, and an end (FIN / END_STREAM) is passed on
 * as an end, so each direction half-closes on its own: a client may send its last message and FIN,
 * and still read the answer. Sockets must be half-open (`allowHalfOpen`) for that.
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
 */
export function splice(a: Duplex, b: Duplex, opts: SpliceOptions): void {
  let done = false;
  let timer: NodeJS.Timeout | null = null;
  const refresh = (): void => {
    timer?.refresh();
  };

  const finish = (): void => {
    if (done) return;
    done = true;
    if (timer !== null) clearTimeout(timer);
    opts.onClose?.();
  };

  const destroyBoth = (): void => {
    if (done) return;
    a.destroy();
    b.destroy();
    finish();
  };

  /** One side has closed cleanly; the other is being closed. */
  let closing = false;

  const abort = (side: Duplex): void => {
    if (done) return;
    if (!closing) opts.onAbort?.(side);
    destroyBoth();
  };

  const onClose = (from: Duplex, to: Duplex) => (): void => {
    if (done) return;
    if (closing) {
      finish();
      return;
    }
    if (!from.readableEnded) {
      abort(from);
      return;
    }
    closing = true;
    // Destroyed already: its 'close' is on its way.
    if (to.destroyed) return;
    // `from` ended both ways and its end went to `to`. Undo the pipe's pause on `to` and drop what
    // it still sends; close it once its writes are out (at once if they are). From now on only
    // that flush keeps the idle timer going, not what `to` sends.
    to.unpipe(from);
    to.removeListener("data", refresh);
    to.on("drain", refresh);
    to.resume();
    if (to.writableFinished) to.destroy();
    else to.once("finish", () => to.destroy());
  };

  if (opts.idleTimeoutMs > 0) {
    timer = setTimeout(destroyBoth, opts.idleTimeoutMs);
    timer.unref();
    a.on("data", refresh);
    b.on("data", refresh);
  }
  a.on("error", () => abort(a));
  b.on("error", () => abort(b));
  a.on("close", onClose(a, b));
  b.on("close", onClose(b, a));
  a.pipe(b);
  b.pipe(a);
  if (a.destroyed) abort(a);
  else if (b.destroyed) abort(b);
}
