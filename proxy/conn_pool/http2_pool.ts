import { Http2Connection, type Http2Options } from "../../lib/http2/connection.js";
import {
  type ConnPool,
  type ResetReason,
  TunnelError,
  type TunnelResult,
  type UpstreamRequest,
  type UpstreamRequestHandle,
  type UpstreamResponseHandler,
} from "../api/upstream.js";
import type { ClusterConfig } from "../config/model.js";
import type { ClusterStats, Host } from "../upstream/host.js";
import type { ResourceManager } from "../upstream/resource_manager.js";
import { type ConnectContext, connectTcp } from "./connector.js";
import { H2Request } from "./h2_request.js";
import { Session, type Waiter } from "./h2_session.js";
import { extendedConnect } from "./h2_tunnel.js";
import { countFailureBeforeHead } from "./host_stats.js";
import { type PoolOptions, upstreamTls } from "./options.js";
import { openH1Tunnel } from "./tunnel.js";

/**
 * h2c (prior knowledge) pool for one host, on our own HTTP/2 client (`lib/http2`, flat header
 * lists, callbacks per stream): one session carries many streams. A new session is opened
 * only when every live session is at the peer's `maxConcurrentStreams` (as Envoy does); requests wait
 * in a FIFO queue meanwhile. A session that received GOAWAY or died is replaced for new streams; its
 * in-flight streams end with "connection termination" (or "remote reset" when refused: safe to retry).
 * A session without streams closes after `upstreamIdleTimeoutMs`.
 *
 * The cluster's circuit breakers (`host.resources`) bound the sessions (`max_connections`), the
 * requests waiting for a stream (`max_pending_requests`) and the requests on streams
 * (`max_requests`); past the last two a request fails at once with "overflow" (503, flag UO), as in
 * Envoy's `ConnPoolImplBase`. Upgrade tunnels are not counted.
 */
export class Http2Pool implements ConnPool {
  readonly protocol = "http2" as const;
  private readonly sessions: Session[] = [];
  private readonly waiting: Waiter[] = [];
  private readonly connectCtx: ConnectContext;
  private readonly tunnelCtx: ConnectContext;
  private readonly maxStreamsCap: number;
  /** 0 = idle sessions stay open. */
  private readonly idleMs: number;
  /** What we announce: SETTINGS (max streams, stream window), then the connection window. */
  private readonly h2Options: Http2Options;
  private readonly resources: ResourceManager;
  private draining = false;
  private drained: (() => void) | null = null;

  constructor(
    readonly host: Host,
    cluster: ClusterConfig,
    readonly stats: ClusterStats,
    options: PoolOptions,
  ) {
    this.resources = host.resources;
    this.connectCtx = {
      host,
      stats,
      connectTimeoutMs: cluster.connectTimeoutMs,
      protocolTotal: stats.upstream_cx_http2_total,
      socketFactory: options.socketFactory,
      tls: upstreamTls(cluster, "http2", stats),
    };
    // The HTTP/1.1 upgrade connection of a v2 `use_websocket` route offers HTTP/1.1 over TLS.
    this.tunnelCtx = {
      ...this.connectCtx,
      protocolTotal: stats.upstream_cx_http1_total,
      tls: upstreamTls(cluster, "http1", stats),
    };
    this.maxStreamsCap =
      cluster.http2MaxConcurrentStreams > 0 ? cluster.http2MaxConcurrentStreams : 2147483647;
    this.idleMs = cluster.upstreamIdleTimeoutMs;
    // Envoy 1.40's client SETTINGS: no push, its stream limit and stream window (16 MiB by default),
    // then a WINDOW_UPDATE opening the connection window (24 MiB by default).
    this.h2Options = {
      maxConcurrentStreams: cluster.http2MaxConcurrentStreams,
      initialStreamWindowSize: cluster.http2InitialStreamWindowSize,
      initialConnectionWindowSize: cluster.http2InitialConnectionWindowSize,
    };
  }

  request(req: UpstreamRequest, handler: UpstreamResponseHandler): UpstreamRequestHandle {
    const rq = new H2Request(this, req, handler);
    this.acquire(rq);
    return rq;
  }

  async tunnel(req: UpstreamRequest, upgradeType: string, http1Fallback = false): Promise<TunnelResult> {
    const session = await new Promise<Session>((resolve, reject) => {
      this.acquire({
        limited: false,
        onPending: () => this.stats.upstream_rq_pending_total.value++,
        onSession: resolve,
        onFail: (reason, detail) => reject(new TunnelError(reason, detail)),
      });
    });
    if (!session.connectProtocol || session.conn === null) {
      this.releaseStream(session, false);
      // The peer did not enable RFC 8441: a dedicated HTTP/1.1 upgrade connection (Envoy in 2018).
      if (http1Fallback) return openH1Tunnel(this.tunnelCtx, req, upgradeType);
      // Envoy 1.40 sends the extended CONNECT anyway; a peer without allow_connect drops the connection.
      throw new TunnelError("connection termination", "the upstream did not enable extended CONNECT");
    }
    return extendedConnect(this, session, req, upgradeType);
  }

  drain(): Promise<void> {
    this.draining = true;
    for (const s of this.sessions) {
      s.closing = true;
      if (s.active === 0) closeSession(s);
    }
    if (this.sessions.length === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drained = resolve;
    });
  }

  destroy(): void {
    this.draining = true;
    for (const w of this.waiting.splice(0)) {
      if (w.limited) this.resources.pendingRequests.dec();
      w.onFail("local reset", "connection pool destroyed");
    }
    for (const s of [...this.sessions]) {
      s.closing = true;
      if (s.conn !== null) s.conn.destroy();
      else this.forget(s);
    }
    this.checkDrained();
  }

  /** @internal A stream slot on a usable session, now or when one frees up / connects. */
  acquire(w: Waiter): void {
    if (this.draining) {
      process.nextTick(() => w.onFail("connection failure", "connection pool is draining"));
      return;
    }
    for (let i = this.sessions.length - 1; i >= 0; i--) {
      const s = this.sessions[i] as Session;
      if (s.usable) {
        this.attach(s, w);
        return;
      }
    }
    if (w.limited) {
      if (!this.resources.pendingRequests.canCreate()) {
        this.stats.upstream_rq_pending_overflow.value++;
        process.nextTick(() => w.onFail("overflow", "overflow"));
        return;
      }
      this.resources.pendingRequests.inc();
    }
    w.onPending();
    this.waiting.push(w);
    if (!this.sessions.some((s) => !s.ready && !s.dead)) this.openSession();
  }

  /** @internal Remove a queued waiter (aborted before it got a stream). */
  unqueue(w: Waiter): void {
    const i = this.waiting.indexOf(w);
    if (i !== -1) {
      this.waiting.splice(i, 1);
      if (w.limited) this.resources.pendingRequests.dec();
    }
    this.checkDrained();
  }

  /** @internal A stream on `s` closed; `limited`: it was a request (counted in `max_requests`). */
  releaseStream(s: Session, limited: boolean): void {
    if (limited) this.resources.requests.dec();
    s.active--;
    s.cx.activeRq = s.active > 0;
    if (s.dead) return;
    if (s.closing) {
      if (s.active === 0) closeSession(s);
      return;
    }
    this.flush(s);
    if (s.active === 0 && s.idleTimer === null && this.idleMs > 0) {
      s.idleTimer = setTimeout(() => {
        s.idleTimer = null;
        s.closing = true;
        closeSession(s);
      }, this.idleMs);
      s.idleTimer.unref();
    }
  }

  /** Envoy's `attachStreamToClient`: a stream on `s`, unless `max_requests` are already on streams. */
  private attach(s: Session, w: Waiter): void {
    if (w.limited) {
      if (!this.resources.requests.canCreate()) {
        this.stats.upstream_rq_active_overflow.value++;
        // Envoy fails this one with its host known (a pending overflow has none): the host's rq_error.
        countFailureBeforeHead(this.host.stats);
        process.nextTick(() => w.onFail("overflow", "overflow"));
        return;
      }
      this.resources.requests.inc();
    }
    this.take(s);
    w.onSession(s);
  }

  private take(s: Session): void {
    s.active++;
    s.cx.activeRq = true;
    if (s.idleTimer !== null) {
      clearTimeout(s.idleTimer);
      s.idleTimer = null;
    }
  }

  /** Hand waiting requests to `s` while it has room. */
  private flush(s: Session): void {
    while (this.waiting.length > 0 && s.usable) {
      const w = this.waiting.shift() as Waiter;
      if (w.limited) this.resources.pendingRequests.dec();
      this.attach(s, w);
    }
  }

  /** A new session, within `max_connections` (a host without any session always gets one). */
  private openSession(): void {
    if (!this.resources.connections.canCreate() && this.sessions.length > 0) {
      this.stats.upstream_cx_overflow.value++;
      return;
    }
    this.resources.connections.inc();
    const s = new Session();
    this.sessions.push(s);
    connectTcp(
      this.connectCtx,
      (err, socket) => {
        if (err !== null) {
          this.onSessionGone(s, err.timedOut ? "connection timeout" : "connection failure", err.message);
          return;
        }
        // A peer that never sends SETTINGS (e.g. an HTTP/1.1-only server) is a connect failure.
        const settingsTimer = setTimeout(() => {
          this.stats.upstream_cx_connect_fail.value++;
          this.host.stats.cx_connect_fail++;
          this.stats.upstream_cx_connect_timeout.value++;
          conn.destroy();
        }, this.connectCtx.connectTimeoutMs);
        settingsTimer.unref();
        // The connection sends the preface, our SETTINGS and the connection WINDOW_UPDATE at once.
        const conn = new Http2Connection(socket, "client", this.h2Options, {
          onSettings: () => {
            s.maxStreams = Math.min(conn.peerMaxConcurrentStreams, this.maxStreamsCap);
            s.connectProtocol = conn.peerConnectProtocol;
            if (!s.ready) {
              s.ready = true;
              clearTimeout(settingsTimer);
              // Drained while it connected: nothing is on it, it closes now.
              if (s.closing && s.active === 0) {
                closeSession(s);
                return;
              }
            }
            this.flush(s);
            if (this.waiting.length > 0 && !this.sessions.some((o) => !o.ready && !o.dead))
              this.openSession();
          },
          onGoaway: () => {
            if (!s.goaway) this.stats.upstream_cx_close_notify.value++;
            s.goaway = true;
            s.closing = true;
            if (s.active === 0) closeSession(s);
            if (this.waiting.length > 0 && !this.draining) this.openSession();
          },
          // Called after every stream has been reset or closed.
          onClose: () => {
            clearTimeout(settingsTimer);
            this.onSessionGone(
              s,
              "connection failure",
              s.ready ? "session closed" : "connection closed before SETTINGS",
            );
          },
        });
        s.conn = conn;
      },
      s.cx,
    );
  }

  private onSessionGone(s: Session, reason: ResetReason, detail: string): void {
    const wasReady = s.ready;
    s.dead = true;
    this.forget(s);
    // Requests waiting for this connection fail, unless another session can still take them.
    if (!wasReady && !this.sessions.some((o) => !o.dead && (o.usable || !o.ready))) {
      for (const w of this.waiting.splice(0)) {
        if (w.limited) this.resources.pendingRequests.dec();
        w.onFail(reason, detail);
      }
    } else if (
      this.waiting.length > 0 &&
      !this.draining &&
      !this.sessions.some((o) => o.usable || !o.ready)
    ) {
      this.openSession();
    }
    this.checkDrained();
  }

  private forget(s: Session): void {
    if (s.idleTimer !== null) clearTimeout(s.idleTimer);
    s.idleTimer = null;
    const i = this.sessions.indexOf(s);
    if (i === -1) return;
    this.sessions.splice(i, 1);
    this.resources.connections.dec();
  }

  private checkDrained(): void {
    if (this.drained !== null && this.sessions.length === 0 && this.waiting.length === 0) {
      const resolve = this.drained;
      this.drained = null;
      resolve();
    }
  }
}

/** Close a session gracefully (GOAWAY, then the socket once its streams are done); counted as closed by us. */
function closeSession(s: Session): void {
  s.cx.closing = true;
  s.conn?.goaway();
}
