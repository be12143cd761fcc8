import type { Duplex, Readable } from "node:stream";
import { EchomeshError } from "../../lib/errors.js";
import type { Host } from "../upstream/host.js";
import type { RawHeaders } from "./headers.js";

export type { RawHeaders } from "./headers.js";

/**
 * The contract between the router and the upstream connection pools (one pool per Host).
 * Modelled on undici's dispatcher: the router hands a request and a handler; the pool calls back.
 */

export interface UpstreamRequest {
  method: string;
  /** Path and query as sent upstream (after rewrites). */
  path: string;
  /** Becomes `Host` on HTTP/1.1 and `:authority` on HTTP/2. */
  authority: string;
  headers: RawHeaders;
  /**
   * The body: a stream (piped with backpressure), a Buffer (buffered, e.g. when a retry policy may
   * resend it), or null for none. The pool never consumes a stream twice.
   */
  body: Readable | Buffer | null;
  /**
   * HTTP/2 upstreams: the order of `:method`, `:path`, `:authority`, `:scheme` (an h2 client's, kept
   * as Envoy keeps it); absent: `:authority, :path, :method, :scheme` (Envoy's order for an HTTP/1.1
   * client).
   */
  pseudoOrder?: readonly string[] | null;
  /**
   * HTTP/2 upstreams: `:scheme`, the downstream connection's (`https` when it was TLS), as Envoy
   * keeps the downstream scheme whatever the upstream's transport; absent: `http`.
   */
  scheme?: "http" | "https";
  /**
   * Downstream request trailers, forwarded after the body on HTTP/2 upstreams. Read when the body
   * stream has ended, so the router may assign it from the downstream `trailers` event / `end`.
   * HTTP/1.1 upstreams drop request trailers (Envoy's default `enable_trailers: false` drops them).
   * Response trailers are delivered by both pools (the router drops an HTTP/1.1 upstream's, as
   * Envoy's codec does by default).
   */
  trailers?: RawHeaders;
}

/**
 * Envoy's reset reasons. "connection failure" is a refused (or otherwise failed) connect, which
 * Envoy 1.40 words "remote connection failure"; "connection timeout" is `connect_timeout` expiring
 * (both were "connection failure" to Envoy 1.7). The local reply words them per dialect
 * (proxy/http/local_reply.ts). For a connection failure the `detail` the pools report is Envoy's
 * transport failure reason (`delayed connect error: Connection refused`).
 */
export type ResetReason =
  | "connection failure"
  | "connection timeout"
  | "connection termination"
  | "local reset"
  | "remote reset"
  | "overflow"
  | "protocol error";

export interface UpstreamResponseHandler {
  /** Response head. `headers` has hop-by-hop headers removed. */
  onHeaders(status: number, headers: RawHeaders): void;
  /** Body chunks in order. Apply backpressure with handle.pause()/resume(). */
  onData(chunk: Buffer): void;
  /** The response ended normally; trailers if the upstream sent any. */
  onComplete(trailers: RawHeaders | null): void;
  /** The exchange failed (before or after headers). Called at most once, never after onComplete. */
  onError(reason: ResetReason, detail: string): void;
}

export interface UpstreamRequestHandle {
  readonly host: Host;
  /** Cancel: release (or destroy) the upstream connection/stream. Idempotent; no callback follows. */
  abort(): void;
  pause(): void;
  resume(): void;
}

/** Result of an upgrade (WebSocket) attempt through a pool. */
export type TunnelResult =
  | {
      /** The upstream accepted: HTTP/1.1 101, or 200 to an RFC 8441 extended CONNECT (reported as 101). */
      upgraded: true;
      status: 101;
      headers: RawHeaders;
      /** A byte stream to the upstream application, past the handshake. */
      stream: Duplex;
      /** Bytes the upstream sent right after the handshake. */
      head: Buffer;
    }
  | {
      /** The upstream answered with an ordinary response (e.g. 400, 404); forward it as is. */
      upgraded: false;
      status: number;
      headers: RawHeaders;
      body: Readable;
    };

/**
 * Stats kept by the pools: Host.stats (cx*, rq*), cluster `upstream_cx_*` (total, active, http1/http2
 * total, connect_fail, connect_timeout, destroy), `upstream_rq_pending_total`, `upstream_rq_rx_reset`,
 * `upstream_rq_tx_reset` (abort of an in-flight request) and `upstream_rq_retry` for the pool's own
 * retry of a request that met a reset on a reused keep-alive socket. The router keeps
 * `upstream_rq_total`/`_active`/`_completed`/`_<code>`/`_timeout` and its own retries.
 * Callbacks never run inside `request()`; `onError` after `drain()`/`destroy()` is "connection
 * failure" / "local reset".
 */
export interface ConnPool {
  readonly host: Host;
  readonly protocol: "http1" | "http2";
  request(req: UpstreamRequest, handler: UpstreamResponseHandler): UpstreamRequestHandle;
  /**
   * Open a tunnel for an upgrade request (`req.headers` carries `upgrade: websocket` and the
   * Sec-WebSocket-* headers). HTTP/1.1 pools use a dedicated connection; HTTP/2 pools use RFC 8441
   * extended CONNECT when the peer enabled it; when it did not, a dedicated HTTP/1.1 upgrade
   * connection with `http1Fallback` (Envoy of 2018, v2 files), else the tunnel fails with
   * "connection termination" (Envoy 1.40 sends the CONNECT anyway and its peer drops the connection).
   * Rejects with a TunnelError before any response.
   */
  tunnel(req: UpstreamRequest, upgradeType: string, http1Fallback?: boolean): Promise<TunnelResult>;
  /** Stop handing out connections; close each one when idle. Resolves when all are closed. */
  drain(): Promise<void>;
  /** Destroy everything now. */
  destroy(): void;
}

/** An upgrade tunnel could not be opened; `reason` is the reset reason the router reports. */
export class TunnelError extends EchomeshError {
  readonly code = "ECHOMESH_PROXY_TUNNEL";

  constructor(
    readonly reason: ResetReason,
    detail: string,
  ) {
    super(detail);
  }
}
