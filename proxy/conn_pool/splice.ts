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
 * half-closed connections work and a clean close stays clean (no RST_STREAM); an error or abrupt close on either side destroys both. The idle
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

  /**
   * `from` closed. If it ended cleanly, its end has been passed on to `to`: `to` is left to finish
   * its own direction and close by itself (its 'close' tears down; the idle timer still applies).
   * Destroying it instead would cut its flush short and, for an HTTP/2 stream, send a RST_STREAM
   * per tunnel, which the peer counts as a "rapid reset" flood (CVE-2023-44487): past nghttp2's
   * limit it ends the whole connection with GOAWAY, taking every other tunnel with it.
   */
  let open = 2;
  const onClose = (from: Duplex, to: Duplex) => (): void => {
    if (done) return;
    open--;
    if (open === 0 || !from.readableEnded || !to.writableEnded || to.destroyed) teardown();
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
  a.on("close", onClose(a, b));
  b.on("close", onClose(b, a));
  a.pipe(b);
  b.pipe(a);
  if (a.destroyed || b.destroyed) teardown();
}
