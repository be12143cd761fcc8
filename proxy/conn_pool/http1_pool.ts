import { EchomeshError } from "../../lib/errors.js";
import type { ClusterConfig } from "../config/model.js";
import type { ClusterStats, Host } from "../upstream/host.js";
import { type ConnectContext, ConnectFailure, connectTcp } from "./connector.js";
import { bodyIntact, H1Client, type H1Exchange, type H1Handler } from "./h1_client.js";
import {
  countFailureBeforeHead,
  countResponseHead,
  enterActive,
  enterPending,
  type HostStats,
  leavePool,
  type PoolAccounted,
  type PoolState,
} from "./host_stats.js";
import type { PoolOptions } from "./options.js";
import { openH1Tunnel } from "./tunnel.js";
import type {
  ConnPool,
  RawHeaders,
  ResetReason,
  TunnelResult,
  UpstreamRequest,
  UpstreamRequestHandle,
  UpstreamResponseHandler,
} from "./types.js";

/** Envoy's default circuit breaker `max_connections`; past it requests wait for a free connection. */
const MAX_CONNECTIONS = 1024;

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

/**
 * One upstream HTTP/1.1 connection (./h1_client.ts: one socket, one exchange at a time).
 * `servedOnSocket` counts the responses completed on it, so a request knows whether it was written
 * on a reused (possibly stale) keep-alive connection.
 */
interface Conn {
  readonly client: H1Client;
  busy: boolean;
  open: boolean;
  removed: boolean;
  servedOnSocket: number;
}

/**
 * HTTP/1.1 keep-alive pool for one host: one H1Client per connection, so that the pool knows which
 * connection each request rides on. Idle connections are reused LIFO and closed after
 * `upstreamIdleTimeoutMs` (Envoy's 1 h by default; a `Keep-Alive: timeout` hint is ignored, as
 * Envoy ignores it), or as soon as the upstream closes them.
 */
export class Http1Pool implements ConnPool {
  readonly protocol = "http1" as const;
  private readonly idle: Conn[] = [];
  private readonly conns = new Set<Conn>();
  private readonly pending: H1Request[] = [];
  private readonly connectCtx: ConnectContext;
  private draining = false;
  private destroyed = false;
  private drained: (() => void) | null = null;

  constructor(
    readonly host: Host,
    private readonly cluster: ClusterConfig,
    readonly stats: ClusterStats,
    options: PoolOptions,
  ) {
    this.connectCtx = {
      host,
      stats,
      connectTimeoutMs: cluster.connectTimeoutMs,
      protocolTotal: stats.upstream_cx_http1_total,
      socketFactory: options.socketFactory,
    };
  }

  request(req: UpstreamRequest, handler: UpstreamResponseHandler): UpstreamRequestHandle {
    const rq = new H1Request(this, req, handler);
    if (this.draining || this.destroyed) {
      process.nextTick(() => rq.fail("connection failure", "connection pool is draining"));
    } else {
      this.dispatch(rq, false);
    }
    return rq;
  }

  tunnel(req: UpstreamRequest, upgradeType: string): Promise<TunnelResult> {
    // An upgrade waits for a connection of its own (Envoy counts the wait as for any request).
    this.stats.upstream_rq_pending_total.value++;
    return openH1Tunnel(this.connectCtx, req, upgradeType);
  }

  drain(): Promise<void> {
    this.draining = true;
    for (const conn of this.idle.splice(0)) this.remove(conn);
    if (this.conns.size === 0 && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drained = resolve;
    });
  }

  destroy(): void {
    this.destroyed = true;
    this.draining = true;
    for (const rq of this.pending.splice(0)) rq.fail("local reset", "connection pool destroyed");
    for (const conn of [...this.conns]) this.remove(conn);
    this.checkDrained();
  }

  /** @internal Give `rq` a connection: an idle one (LIFO), a new one, or a place in the queue. */
  dispatch(rq: H1Request, fresh: boolean): void {
    let conn = fresh ? undefined : this.idle.pop();
    if (conn === undefined) {
      // No idle connection: the request waits for a new one, or for a busy one (Envoy's pending).
      enterPending(rq);
      if (this.conns.size >= MAX_CONNECTIONS) {
        this.pending.push(rq);
        return;
      }
      conn = this.newConn();
    }
    this.start(conn, rq);
  }

  /** @internal The request on `conn` finished; `reusable` when the exchange completed cleanly. */
  release(conn: Conn, reusable: boolean): void {
    conn.busy = false;
    if (conn.removed) return;
    if (!reusable || !conn.open || this.draining) {
      this.remove(conn);
      return;
    }
    const next = this.pending.shift();
    if (next !== undefined) this.start(conn, next);
    else this.idle.push(conn);
  }

  /** @internal Drop a queued request (aborted before it got a connection). */
  unqueue(rq: H1Request): void {
    const i = this.pending.indexOf(rq);
    if (i !== -1) this.pending.splice(i, 1);
    this.checkDrained();
  }

  /** @internal Close a connection for good. */
  remove(conn: Conn): void {
    if (conn.removed) return;
    conn.removed = true;
    this.conns.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i !== -1) this.idle.splice(i, 1);
    conn.client.destroy();
    const next = this.destroyed ? undefined : this.pending.shift();
    if (next !== undefined) this.start(this.newConn(), next);
    this.checkDrained();
  }

  private start(conn: Conn, rq: H1Request): void {
    conn.busy = true;
    rq.conn = conn;
    rq.dispatching = true;
    conn.client.dispatch(rq.exchange(), rq);
    rq.dispatching = false;
  }

  private newConn(): Conn {
    const ctx = this.connectCtx;
    const conn: Conn = {
      client: new H1Client(
        (cb, cx) => connectTcp(ctx, cb, cx),
        {
          onOpen: () => {
            conn.open = true;
            conn.servedOnSocket = 0;
          },
          onClose: () => {
            conn.open = false;
            if (!conn.busy) this.remove(conn);
          },
          onCloseNotify: () => {
            this.stats.upstream_cx_close_notify.value++;
          },
          onProtocolError: () => {
            this.stats.upstream_cx_protocol_error.value++;
          },
        },
        this.cluster.upstreamIdleTimeoutMs,
        this.cluster.maxRequestsPerConnection,
      ),
      busy: false,
      open: false,
      removed: false,
      servedOnSocket: 0,
    };
    this.conns.add(conn);
    return conn;
  }

  private checkDrained(): void {
    if (this.drained !== null && this.conns.size === 0 && this.pending.length === 0) {
      const resolve = this.drained;
      this.drained = null;
      resolve();
    }
  }
}

/** One request through the pool: the handle the router holds and the handler its connection calls. */
class H1Request implements UpstreamRequestHandle, H1Handler, PoolAccounted {
  conn: Conn | null = null;
  poolState: PoolState = "new";
  /** An error reported while dispatching is deferred: callbacks never run inside `request()`. */
  dispatching = false;
  private connAbort: ((err?: Error) => void) | null = null;
  private resumeUpstream: (() => void) | null = null;
  private paused = false;
  private started = false;
  private finished = false;
  private reused = false;
  private retried = false;

  constructor(
    private readonly pool: Http1Pool,
    private readonly req: UpstreamRequest,
    private readonly handler: UpstreamResponseHandler,
  ) {}

  get host(): Host {
    return this.pool.host;
  }

  get hostStats(): HostStats {
    return this.pool.host.stats;
  }

  get clusterStats(): ClusterStats {
    return this.pool.stats;
  }

  exchange(): H1Exchange {
    const { req } = this;
    return { method: req.method, path: req.path, headers: requestHeaders(req), body: req.body };
  }

  // --- UpstreamRequestHandle ---

  abort(): void {
    if (this.finished) return;
    this.finished = true;
    leavePool(this);
    const { conn } = this;
    if (conn === null) {
      this.pool.unqueue(this);
      return;
    }
    // No upstream_rq_tx_reset: HTTP/1.1 has no stream reset, the connection closes (as Envoy counts).
    // Never hand a half-used socket back: the connection's abort destroys it.
    if (this.connAbort !== null) this.connAbort();
    else this.pool.remove(conn);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.resumeUpstream?.();
  }

  /** Fail before dispatch (pool draining/destroyed). */
  fail(reason: ResetReason, detail: string): void {
    if (this.finished) return;
    this.finished = true;
    leavePool(this);
    countFailureBeforeHead(this.host.stats);
    this.handler.onError(reason, detail);
  }

  // --- H1Handler ---

  onConnect(abort: (err?: Error) => void): void {
    this.connAbort = abort;
    if (this.finished) {
      abort();
      return;
    }
    enterActive(this);
    this.reused = this.conn !== null && this.conn.servedOnSocket > 0;
  }

  onHeaders(statusCode: number, headers: RawHeaders, resume: () => void): boolean {
    if (this.finished) return false;
    this.started = true;
    countResponseHead(this.host.stats, statusCode);
    this.resumeUpstream = resume;
    this.handler.onHeaders(statusCode, headers);
    return !this.paused;
  }

  onData(chunk: Buffer): boolean {
    if (this.finished) return false;
    this.handler.onData(chunk);
    return !this.paused;
  }

  onComplete(trailers: RawHeaders | null): void {
    const conn = this.conn;
    if (conn !== null) {
      conn.servedOnSocket++;
      this.pool.release(conn, true);
    }
    if (this.finished) return;
    this.finished = true;
    leavePool(this);
    this.handler.onComplete(trailers);
  }

  onError(err: Error): void {
    if (this.dispatching) {
      process.nextTick(() => this.onError(err));
      return;
    }
    const conn = this.conn;
    this.conn = null;
    this.connAbort = null;
    if (conn !== null) this.pool.release(conn, false);
    if (this.finished) return;
    if (this.canRetry(err)) {
      this.retried = true;
      this.reused = false;
      this.pool.stats.upstream_rq_retry.value++;
      this.pool.dispatch(this, true);
      return;
    }
    this.finished = true;
    const reason = resetReason(err, this.started);
    // A request still waiting for its connection when that connect failed is ejected (Envoy's
    // purgePendingStreams). No upstream_rq_rx_reset: HTTP/1.1 has no stream reset (as Envoy counts).
    leavePool(this, reason === "connection failure" || reason === "connection timeout");
    if (!this.started) countFailureBeforeHead(this.host.stats);
    this.handler.onError(reason, errorDetail(err));
  }

  /** A reset on a reused keep-alive socket before any response byte: retry once, when safe. */
  private canRetry(err: Error): boolean {
    if (this.started || this.retried || !this.reused || !isSocketError(err)) return false;
    return IDEMPOTENT.has(this.req.method) && bodyIntact(this.req.body);
  }
}

/**
 * `host` from the authority, then the request's headers with lower-case names (Envoy's codec writes
 * them so), minus any stray `host` and `expect` (the connection manager answers 100-continue, as
 * Envoy does).
 */
function requestHeaders(req: UpstreamRequest): RawHeaders {
  const raw = req.headers;
  const out: RawHeaders = ["host", req.authority];
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if ((name.length === 4 && name === "host") || (name.length === 6 && name === "expect")) continue;
    out.push(name, raw[i + 1] as string);
  }
  return out;
}

function isSocketError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ECONNRESET" || code === "EPIPE";
}

function resetReason(err: Error, started: boolean): ResetReason {
  if (err instanceof ConnectFailure) return err.timedOut ? "connection timeout" : "connection failure";
  const code = (err as NodeJS.ErrnoException).code ?? "";
  if (code === "ERR_H1_ABORTED") return "local reset";
  if (started || isSocketError(err)) return "connection termination";
  return "protocol error";
}

/** Node's codes are prefixed to their message; ours (ConnectFailure) say it all already. */
function errorDetail(err: Error): string {
  if (err instanceof EchomeshError) return err.message;
  const code = (err as NodeJS.ErrnoException).code;
  return code !== undefined && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}
