import type { Duplex } from "node:stream";

export interface SpliceOptions {
  /** Destroy both sides after this long without a byte in either direction; 0 disables. */
  idleTimeoutMs: number;
  /** Called once when both sides are gone (e.g. to count `downstream_cx_upgrades_active`). */
  onClose?: () => void;
}

/**
 * Joins two byte streams (a downstream socket or HTTP/2 stream and an upstream one): each side is
 * piped into the other with backpressure; an end (FIN / END_STREAM) is passed on as an end, so
 * half-closed connections work; an error or abrupt close on either side destroys both. The idle
 * timer is unref'd and refreshed by traffic in either direction.
 */
export function splice(a: Duplex, b: Duplex, opts: SpliceOptions): void {
  let done = false;
  let timer: NodeJS.Timeout | null = null;

  const teardown = (): void => {
    if (done) return;
    done = true;
    if (timer !== null) clearTimeout(timer);
    a.destroy();
    b.destroy();
    opts.onClose?.();
  };

  /** `from` closed: once `to` has flushed what `from` sent (if it ended cleanly), close `to` too. */
  const onClose = (to: Duplex) => (): void => {
    if (done) return;
    if (to.writableEnded && !to.writableFinished && !to.destroyed) {
      to.once("finish", teardown);
      to.once("close", teardown);
    } else {
      teardown();
    }
  };

  if (opts.idleTimeoutMs > 0) {
    timer = setTimeout(teardown, opts.idleTimeoutMs);
    timer.unref();
    const refresh = (): void => {
      timer?.refresh();
    };
    a.on("data", refresh);
    b.on("data", refresh);
  }
  a.on("error", teardown);
  b.on("error", teardown);
  a.on("close", onClose(b));
  b.on("close", onClose(a));
  a.pipe(b);
  b.pipe(a);
  if (a.destroyed || b.destroyed) teardown();
}
