import net from "node:net";
import { EchomeshError } from "../../lib/errors.js";
import type { Counter } from "../stats/store.js";
import type { UpstreamTls } from "../tls/client.js";
import type { ClusterStats, Host } from "../upstream/host.js";

/** Opens a raw, not yet connected TCP socket to the host. Tests inject one that never connects. */
export type SocketFactory = (host: Host) => net.Socket;

export const defaultSocketFactory: SocketFactory = (host) =>
  net.connect({ host: host.address, port: host.port, noDelay: true, keepAlive: true });

/** A TCP connect attempt failed (refused, unreachable, or `connect_timeout` expired). */
export class ConnectFailure extends EchomeshError {
  readonly code = "ECHOMESH_PROXY_CONNECT";

  constructor(
    message: string,
    readonly timedOut: boolean,
  ) {
    super(message);
  }
}

export interface ConnectContext {
  host: Host;
  stats: ClusterStats;
  connectTimeoutMs: number;
  /** upstream_cx_http1_total or upstream_cx_http2_total. */
  protocolTotal: Counter;
  socketFactory: SocketFactory;
  /** The cluster's TLS transport socket for this protocol; null: plain TCP. */
  tls: UpstreamTls | null;
}

/**
 * What the close of one connection is counted by. Its owner keeps `activeRq` true from the moment a
 * request is written until its response completed cleanly (a failed exchange leaves it true: the
 * connection closes with that request on it).
 */
export interface CxState {
  activeRq: boolean;
  /**
   * The owner started closing it (an HTTP/2 GOAWAY sent, or an idle or drained session): the close
   * is ours even where the peer's FIN comes first (Envoy closes such a connection at once).
   */
  closing: boolean;
}

/**
 * Connects to `ctx.host` within `connect_timeout` and keeps the connection stats of the host and the
 * cluster: `upstream_cx_total`/`_http{1,2}_total`/`cx_total` per attempt, `upstream_cx_active`/`cx_active`
 * while the socket lives, `upstream_cx_connect_fail` and `upstream_cx_connect_timeout` on failure,
 * and when it closes, as Envoy's `reportUpstreamCxDestroy` and `reportUpstreamCxDestroyActiveRequest`
 * do: `upstream_cx_destroy`, `_remote` (the upstream ended or reset it first, or refused the connect)
 * or `_local` (we ended or closed it first, a connect timeout included), and with `cx.activeRq` then
 * `upstream_cx_destroy_with_active_rq` and its `_remote_`/`_local_` form. `cb` is called exactly once.
 * A TLS cluster's connection is connected once its handshake succeeded (within the same
 * `connect_timeout`, as Envoy's pool waits for its transport socket's Connected event): `cb` gets
 * the TLS socket, and a failed handshake is a connect failure.
 */
export function connectTcp(
  ctx: ConnectContext,
  cb: (err: ConnectFailure | null, socket: net.Socket) => void,
  cx: CxState = { activeRq: false, closing: false },
) {
  const { host, stats } = ctx;
  stats.upstream_cx_total.value++;
  ctx.protocolTotal.value++;
  stats.upstream_cx_active.value++;
  host.stats.cx_total++;
  host.stats.cx_active++;
  const socket = ctx.socketFactory(host);
  let settled = false;
  // Dropped once called: the socket's listeners outlive the connect, its owner's closures need not.
  let callback: typeof cb | null = cb;
  const settle = (err: ConnectFailure | null, connected: net.Socket = socket): void => {
    const done = callback;
    callback = null;
    done?.(err, connected);
  };
  /** The upstream ended or reset the connection before we ended or destroyed it: a remote close. */
  let remote = false;
  /** What the owner writes to: the TCP socket, or the TLS socket over it. */
  let outer: net.Socket = socket;
  const onRemote = (): void => {
    if (!outer.writableEnded && !cx.closing) remote = true;
  };
  // Decided one loop turn later: after an event-loop stall longer than the timeout, timers run before
  // the poll phase delivers a connect the kernel completed meanwhile; that connect must win.
  const timeout = (): void => {
    fail(new ConnectFailure(`connect timeout after ${ctx.connectTimeoutMs} ms to ${host.key}`, true));
  };
  let timer: NodeJS.Timeout | null = setTimeout(() => setImmediate(timeout), ctx.connectTimeoutMs);
  timer.unref();
  // Not kept for the life of the connection (its closures outlive the connect).
  const stopTimer = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };

  function fail(err: ConnectFailure): void {
    if (settled) return;
    settled = true;
    stopTimer();
    stats.upstream_cx_connect_fail.value++;
    host.stats.cx_connect_fail++;
    if (err.timedOut) stats.upstream_cx_connect_timeout.value++;
    socket.removeListener("connect", onConnect);
    if (outer !== socket) outer.destroy();
    socket.destroy();
    settle(err);
  }
  function onError(err: NodeJS.ErrnoException): void {
    fail(new ConnectFailure(`delayed connect error: ${strerror(err)}`, false));
  }
  function onConnect(): void {
    if (settled) return;
    if (ctx.tls !== null) {
      // Connected once the handshake is done (a plain connection allocates none of this).
      outer = ctx.tls.handshake(socket, (failure, secure) => {
        if (settled) return;
        if (failure !== null) {
          fail(new ConnectFailure(failure, false));
          return;
        }
        settled = true;
        stopTimer();
        socket.removeListener("error", onError);
        settle(null, secure);
      });
      outer.on("end", onRemote);
      outer.on("error", onRemote);
      return;
    }
    settled = true;
    stopTimer();
    socket.removeListener("error", onError);
    settle(null);
  }
  // `on`, not `once`: each of these events comes once at most, and `once` wraps every listener in a
  // bound function that a long-lived connection (an idle WebSocket tunnel) would keep.
  socket.on("connect", onConnect);
  socket.on("error", onError);
  socket.on("end", onRemote);
  socket.on("error", onRemote);
  socket.on("close", () => {
    stats.upstream_cx_active.value--;
    host.stats.cx_active--;
    stats.upstream_cx_destroy.value++;
    // Read at the close: a response the upstream delimited by closing is complete by then.
    const active = cx.activeRq;
    if (remote) stats.upstream_cx_destroy_remote.value++;
    else stats.upstream_cx_destroy_local.value++;
    if (active) {
      stats.upstream_cx_destroy_with_active_rq.value++;
      if (remote) stats.upstream_cx_destroy_remote_with_active_rq.value++;
      else stats.upstream_cx_destroy_local_with_active_rq.value++;
    }
    if (!settled) onError(Object.assign(new Error("closed"), { code: "ECONNRESET" }));
  });
  return socket;
}

/** The C library's text for a connect errno, as Envoy's transport failure reason quotes it. */
const STRERROR: Readonly<Record<string, string>> = {
  ECONNREFUSED: "Connection refused",
  ECONNRESET: "Connection reset by peer",
  EHOSTUNREACH: "No route to host",
  ENETUNREACH: "Network is unreachable",
  ETIMEDOUT: "Connection timed out",
  EADDRNOTAVAIL: "Cannot assign requested address",
  EACCES: "Permission denied",
};

function strerror(err: NodeJS.ErrnoException): string {
  return (err.code !== undefined ? STRERROR[err.code] : undefined) ?? err.code ?? err.message;
}
