import { EchomeshError } from "../../lib/errors.js";
import { bodyIntact, H1Client, type H1Exchange, type H1Handler } from "../../lib/http1/client_connection.js";
import type {
  ConnPool,
  RawHeaders,
  ResetReason,
  TunnelResult,
  UpstreamRequest,
  UpstreamRequestHandle,
  UpstreamResponseHandler,
} from "../api/upstream.js";
import type { ClusterConfig } from "../config/model.js";
import type { ClusterStats, Host } from "../upstream/host.js";
import type { ResourceManager } from "../upstream/resource_manager.js";
import { type ConnectContext, ConnectFailure, connectTcp } from "./connector.js";
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
import { type PoolOptions, upstreamTls } from "./options.js";
import { openH1Tunnel } from "./tunnel.js";

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

/**
 * Whether the pool may send a request of `method` again on a fresh connection when a reused one was
 * reset (its body must then still be whole: a Buffer, or a stream not read yet).
 */
export function resentOnStaleConnection(method: string): boolean {
  return IDEMPOTENT.has(method);
}

/**
 * One upstream HTTP/1.1 connection (./h1_client.ts: one socket, one exchange at a time).
 * `servedOnSocket` counts the responses completed on it, so a request knows whether it was written
 * on a reused (possibly stale) keep-alive connection.
 */
interface Conn {
  readonly client: H1Client;
  state: "connecting" | "idle" | "busy" | "closed";
  servedOnSocket: number;
  /** Why its connect failed (the waiting requests fail with it). */
  connectError: Error | null;
}

/**
 * HTTP/1.1 keep-alive pool for one host, shaped like Envoy's `ConnPoolImplBase`: a request takes an
 * idle connection (LIFO), else waits in the pending queue, and a new connection is opened only
 * while more requests wait than connections are being opened. A connection serves whichever request
 * waits when it is up: a request cancelled while waiting leaves it connecting (Envoy's
 * `CancelPolicy::Default`), so a client that sends and resets requests in a loop costs no
 * connection per request. The cluster's circuit breakers (`host.resources`) bound the connections,
 * the waiting requests and the requests on connections; past the last two a request fails at once
 * with "overflow" (503, flag UO).
 *
 * Idle connections close after `upstreamIdleTimeoutMs` (Envoy's 1 h by default; a `Keep-Alive:
 * timeout` hint is ignored, as Envoy ignores it), or as soon as the upstream closes them.
 */
export class Http1Pool implements ConnPool {
  readonly protocol = "http1" as const;
  private readonly idle: Conn[] = [];
  private readonly conns = new Set<Conn>();
  /** Connections still connecting: the capacity the pending requests already have coming. */
  private connecting = 0;
  private readonly pending: H1Request[] = [];
  private readonly connectCtx: ConnectContext;
  private readonly resources: ResourceManager;
  private draining = false;
  private destroyed = false;
  private drained: (() => void) | null = null;

  constructor(
    readonly host: Host,
    private readonly cluster: ClusterConfig,
    readonly stats: ClusterStats,
    options: PoolOptions,
  ) {
    this.resources = host.resources;
    this.connectCtx = {
      host,
      stats,
      connectTimeoutMs: cluster.connectTimeoutMs,
      protocolTotal: stats.upstream_cx_http1_total,
      socketFactory: options.socketFactory,
      tls: upstreamTls(cluster, "http1", stats),
    };
  }

  request(req: UpstreamRequest, handler: UpstreamResponseHandler): UpstreamRequestHandle {
    const rq = new H1Request(this, req, handler, this.resources);
    if (this.draining || this.destroyed) {
      process.nextTick(() => rq.fail("connection failure", "connection pool is draining"));
      return rq;
    }
    const conn = this.idle.pop();
    if (conn !== undefined) {
      this.attach(conn, rq);
      return rq;
    }
    if (!this.resources.pendingRequests.canCreate()) {
      this.stats.upstream_rq_pending_overflow.value++;
      process.nextTick(() => rq.fail("overflow", "overflow"));
      return rq;
    }
    this.enqueue(rq);
    this.tryCreateConnections();
    return rq;
  }

  tunnel(req: UpstreamRequest, upgradeType: string): Promise<TunnelResult> {
    // An upgrade waits for a connection of its own (Envoy counts the wait as for any request).
    this.stats.upstream_rq_pending_total.value++;
    return openH1Tunnel(this.connectCtx, req, upgradeType);
  }

  drain(): Promise<void> {
    this.draining = true;
    for (const conn of [...this.idle]) this.remove(conn);
    this.closeSurplusConnecting();
    if (this.conns.size === 0 && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drained = resolve;
    });
  }

  destroy(): void {
    this.destroyed = true;
    this.draining = true;
    for (const rq of this.pending.splice(0)) {
      this.resources.pendingRequests.dec();
      rq.fail("local reset", "connection pool destroyed");
    }
    for (const conn of [...this.conns]) this.remove(conn);
    this.checkDrained();
  }

  /** @internal A request on a reused socket met a reset before any response: once more, first in line, on a fresh connection. */
  retry(rq: H1Request): void {
    this.pending.unshift(rq);
    this.resources.pendingRequests.inc();
    this.tryCreateConnections();
  }

  /** @internal The request on `conn` finished; `reusable` when the exchange completed cleanly. */
  release(conn: Conn, reusable: boolean): void {
    if (conn.state !== "busy") return;
    if (!reusable || this.draining) {
      this.remove(conn);
      return;
    }
    conn.state = "idle";
    this.idle.push(conn);
    this.onUpstreamReady();
  }

  /** @internal A waiting request was cancelled: its connection, if one is coming, goes on connecting. */
  cancelPending(rq: H1Request): void {
    const i = this.pending.indexOf(rq);
    if (i !== -1) {
      this.pending.splice(i, 1);
      this.resources.pendingRequests.dec();
    }
    if (this.draining) this.closeSurplusConnecting();
    this.checkDrained();
  }

  /** @internal Close a connection for good (its 'close' does the bookkeeping). */
  remove(conn: Conn): void {
    if (conn.state === "closed") return;
    conn.client.destroy();
    // A connection whose client had already closed reported it then; make sure it is out.
    this.onClosed(conn);
  }

  private enqueue(rq: H1Request): void {
    enterPending(rq);
    this.resources.pendingRequests.inc();
    this.pending.push(rq);
  }

  /** Envoy's `attachStreamToClient`: the request goes on `conn`, unless `max_requests` are already on connections. */
  private attach(conn: Conn, rq: H1Request): void {
    if (!this.resources.requests.canCreate()) {
      this.stats.upstream_rq_active_overflow.value++;
      // Envoy fails this one with its host known (a pending overflow has none): the host's rq_error.
      countFailureBeforeHead(this.host.stats);
      conn.state = "idle";
      this.idle.push(conn);
      process.nextTick(() => rq.fail("overflow", "overflow"));
      return;
    }
    conn.state = "busy";
    rq.start(conn);
    conn.client.dispatch(rq.exchange(), rq);
  }

  /** Hand idle connections to waiting requests (first come, first served). */
  private onUpstreamReady(): void {
    while (this.pending.length > 0 && this.idle.length > 0) {
      const rq = this.pending.shift() as H1Request;
      this.resources.pendingRequests.dec();
      this.attach(this.idle.pop() as Conn, rq);
    }
    if (this.draining) for (const conn of [...this.idle]) this.remove(conn);
  }

  /**
   * Envoy's `tryCreateNewConnections`: one more connection while more requests wait than are being
   * connected for, within `max_connections` (except a host with no connection at all gets one, so
   * that its requests are not stuck behind other hosts' connections).
   */
  private tryCreateConnections(): void {
    while (this.pending.length > this.connecting && !this.destroyed) {
      if (!this.resources.connections.canCreate() && this.conns.size > 0) {
        this.stats.upstream_cx_overflow.value++;
        return;
      }
      this.newConn();
    }
  }

  /** Draining: connections being opened for nobody are closed. */
  private closeSurplusConnecting(): void {
    let surplus = this.connecting - this.pending.length;
    for (const conn of this.conns) {
      if (surplus <= 0) return;
      if (conn.state !== "connecting") continue;
      surplus--;
      this.remove(conn);
    }
  }

  private newConn(): void {
    const ctx = this.connectCtx;
    this.resources.connections.inc();
    this.connecting++;
    const conn: Conn = {
      client: new H1Client(
        (cb, cx) =>
          connectTcp(
            ctx,
            (err, socket) => {
              conn.connectError = err;
              cb(err, socket);
            },
            cx,
          ),
        {
          onOpen: () => {
            if (conn.state !== "connecting") return;
            this.connecting--;
            conn.state = "idle";
            conn.servedOnSocket = 0;
            this.idle.push(conn);
            this.onUpstreamReady();
          },
          onClose: () => this.onClosed(conn),
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
      state: "connecting",
      servedOnSocket: 0,
      connectError: null,
    };
    this.conns.add(conn);
    conn.client.open();
  }

  /** The connection is gone (closed by either side, or its connect failed). */
  private onClosed(conn: Conn): void {
    if (conn.state === "closed") return;
    const wasConnecting = conn.state === "connecting";
    if (wasConnecting) this.connecting--;
    conn.state = "closed";
    this.conns.delete(conn);
    this.resources.connections.dec();
    const i = this.idle.indexOf(conn);
    if (i !== -1) this.idle.splice(i, 1);
    const err = conn.connectError;
    if (wasConnecting && err !== null) {
      // Envoy's purgePendingStreams: a failed connect fails every waiting request.
      for (const rq of this.pending.splice(0)) {
        this.resources.pendingRequests.dec();
        rq.onError(err);
      }
    } else {
      this.tryCreateConnections();
    }
    this.checkDrained();
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
  /** Counted in the cluster's `max_requests` (from attach to the end of its exchange). */
  private onConnection = false;
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
    private readonly resources: ResourceManager,
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

  /** The pool put this request on `conn` (its exchange is written on the next tick). */
  start(conn: Conn): void {
    this.conn = conn;
    this.onConnection = true;
    this.resources.requests.inc();
  }

  // --- UpstreamRequestHandle ---

  abort(): void {
    if (this.finished) return;
    this.finished = true;
    leavePool(this);
    const { conn } = this;
    if (conn === null) {
      this.pool.cancelPending(this);
      return;
    }
    this.leaveConnection();
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

  /** Fail without a connection (overflow, pool draining/destroyed); called asynchronously. */
  fail(reason: ResetReason, detail: string): void {
    if (this.finished) return;
    this.finished = true;
    leavePool(this);
    // An overflow is the cluster's, not the host's: no host outcome (Envoy passes no host).
    if (reason !== "overflow") countFailureBeforeHead(this.host.stats);
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
    this.leaveConnection();
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
    const conn = this.conn;
    this.conn = null;
    this.connAbort = null;
    this.leaveConnection();
    if (conn !== null) this.pool.release(conn, false);
    if (this.finished) return;
    if (this.canRetry(err)) {
      this.retried = true;
      this.reused = false;
      this.pool.stats.upstream_rq_retry.value++;
      this.pool.retry(this);
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

  /** Out of the cluster's `max_requests` count. */
  private leaveConnection(): void {
    if (!this.onConnection) return;
    this.onConnection = false;
    this.resources.requests.dec();
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
