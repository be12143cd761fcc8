/** One h2c session of an Http2Pool and what waits for a stream on it. */
import type { Http2Connection } from "../../lib/http2/connection.js";
import type { ResetReason } from "../api/upstream.js";
import type { CxState } from "./connector.js";

/** One h2c connection. `active` counts its open streams (requests and tunnels). */
export class Session {
  /** Our HTTP/2 client connection (`lib/http2`), once the TCP connect succeeded. */
  conn: Http2Connection | null = null;
  active = 0;
  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS, capped by the cluster's; unknown until SETTINGS. */
  maxStreams = 0;
  ready = false;
  /** GOAWAY received or pool draining: finishes its streams, takes no new ones. */
  closing = false;
  /** A GOAWAY came (a graceful peer sends two: counted once, as Envoy closes on the first). */
  goaway = false;
  dead = false;
  connectProtocol = false;
  idleTimer: NodeJS.Timeout | null = null;
  /** For the connector's close counters: streams are open on it (`active > 0`). */
  readonly cx: CxState = { activeRq: false, closing: false };

  get usable(): boolean {
    return this.ready && !this.closing && !this.dead && this.active < this.maxStreams;
  }
}

/** Something waiting for a stream slot on a session. */
export interface Waiter {
  /** A request, counted by the cluster's circuit breakers (an upgrade tunnel is not). */
  readonly limited: boolean;
  /** No session has room: the waiter queues (Envoy's `newPendingStream`, `upstream_rq_pending_*`). */
  onPending(): void;
  onSession(session: Session): void;
  onFail(reason: ResetReason, detail: string): void;
}
