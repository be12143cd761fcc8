/**
 * The connection manager's per-stream timers (Envoy's `stream_idle_timeout` and `request_timeout`)
 * on ONE coarse clock: active streams sit in an intrusive doubly linked list, and a single interval
 * (running only while the list is not empty) checks their deadlines. Per request that costs two
 * pointer writes in and out of the list and a boolean store per activity, no timer object.
 *
 * Resolution: the tick is a quarter of the shortest configured timeout, between 10 ms and 1 s, so a
 * timeout fires between its duration and its duration plus one tick (never early).
 */

/** What the clock needs from a stream (DownstreamStream implements it). */
export interface TimedStream {
  /** List links; owned by StreamTimeouts. */
  timerPrev: TimedStream | null;
  timerNext: TimedStream | null;
  /** Set on any activity (request or response bytes); the clock clears it and restarts the idle period. */
  timerActive: boolean;
  /** Time (clock ms) of the last activity the clock saw. */
  timerLastActivity: number;
  /** Idle limit of this stream in ms, 0 = none (the HCM's, or the route's `idle_timeout`). */
  timerIdleMs: number;
  /** Absolute time the whole request must have arrived by, 0 = none (disarmed). */
  timerRequestDeadline: number;
  onIdleTimeout(): void;
  onRequestTimeout(): void;
}

const MIN_TICK_MS = 10;
const MAX_TICK_MS = 1000;

export class StreamTimeouts {
  private head: TimedStream | null = null;
  private interval: NodeJS.Timeout | null = null;
  private readonly tickMs: number;

  /**
   * `shortestMs`: the shortest timeout any stream can get (HCM and route values, 0s excluded).
   * `now` is injectable for tests.
   */
  constructor(
    shortestMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tickMs = Math.max(MIN_TICK_MS, Math.min(MAX_TICK_MS, Math.floor(shortestMs / 4)));
  }

  get tick(): number {
    return this.tickMs;
  }

  add(s: TimedStream): void {
    const head = this.head;
    s.timerPrev = null;
    s.timerNext = head;
    if (head !== null) head.timerPrev = s;
    this.head = s;
    if (this.interval === null) {
      this.interval = setInterval(() => this.scan(), this.tickMs);
      this.interval.unref();
    }
  }

  /** Idempotent. */
  remove(s: TimedStream): void {
    const prev = s.timerPrev;
    const next = s.timerNext;
    if (prev !== null) prev.timerNext = next;
    else if (this.head === s) this.head = next;
    else return;
    if (next !== null) next.timerPrev = prev;
    s.timerPrev = s.timerNext = null;
  }

  /** Stop the clock (the listener is closing); streams still listed are dropped. */
  close(): void {
    this.head = null;
    if (this.interval !== null) clearInterval(this.interval);
    this.interval = null;
  }

  private scan(): void {
    if (this.head === null) {
      // Nothing to watch: stop until the next stream arrives.
      if (this.interval !== null) clearInterval(this.interval);
      this.interval = null;
      return;
    }
    const now = this.now();
    let s: TimedStream | null = this.head;
    while (s !== null) {
      const next: TimedStream | null = s.timerNext;
      if (s.timerActive) {
        s.timerActive = false;
        s.timerLastActivity = now;
      }
      if (s.timerRequestDeadline > 0 && now >= s.timerRequestDeadline) {
        this.remove(s);
        s.onRequestTimeout();
      } else if (s.timerIdleMs > 0 && now - s.timerLastActivity >= s.timerIdleMs) {
        this.remove(s);
        s.onIdleTimeout();
      }
      s = next;
    }
  }
}
