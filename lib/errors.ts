/**
 * The error policy in code (docs/ARCHITECTURE.md, "Errors"): every error class of ours extends
 * EchomeshError and carries a stable `code`; every place that ignores an error passes one of the
 * named functions below, whose comment says why that is safe and where the failure is counted.
 */

/** The part of echomesh an error comes from. */
export type Part = "echo" | "proxy" | "conformance";

/**
 * Every code we throw, with its part. Codes are stable (like Node's `err.code`): scripts and tests may
 * match on them; messages may change.
 */
export const ERROR_CODES = {
  /** echo: a bad flag, environment variable or config value (exit 2). */
  ECHOMESH_ECHO_CONFIG: "echo",
  /** proxy: a bad command line (exit 2: one line naming the flag, ending "Try --help."). */
  ECHOMESH_PROXY_USAGE: "proxy",
  /** proxy: a config that cannot be read or does not validate; lists every problem (exit 1). */
  ECHOMESH_PROXY_CONFIG: "proxy",
  /** proxy: a bad access log format string (reported inside ECHOMESH_PROXY_CONFIG). */
  ECHOMESH_PROXY_ACCESS_LOG_FORMAT: "proxy",
  /** proxy: a bad `/stats?filter=` regex (admin answers 400). */
  ECHOMESH_PROXY_STATS_QUERY: "proxy",
  /** proxy: a TCP connect to an upstream host failed (reset reason "connection failure"). */
  ECHOMESH_PROXY_CONNECT: "proxy",
  /** proxy: an upgrade (WebSocket) tunnel could not be opened; carries the reset reason. */
  ECHOMESH_PROXY_TUNNEL: "proxy",
  /** conformance: a check failed; the message holds the measured numbers. */
  ECHOMESH_CONFORMANCE_CHECK: "conformance",
  /** conformance: a check cannot run on this driver or target (the test is skipped). */
  ECHOMESH_CONFORMANCE_SKIP: "conformance",
  /** conformance: a topology has a part the target's config dialect cannot express (lib/topology). */
  ECHOMESH_TOPOLOGY_UNSUPPORTED: "conformance",
} as const satisfies Record<string, Part>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The base of every error class of ours: `name` is the class name, `code` a stable ErrorCode. */
export abstract class EchomeshError extends Error {
  abstract readonly code: ErrorCode;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }

  /** The part that threw it. */
  get part(): Part {
    return ERROR_CODES[this.code];
  }
}

/**
 * An 'error' listener for a socket, stream or HTTP/2 session whose 'close' listener, registered beside
 * it, handles the failure. Node always emits 'close' after 'error' (net.Socket, node:http messages,
 * HTTP/2 streams and sessions, ws sockets), and the close handler is where the failure is counted:
 * downstream `downstream_rq_rx_reset` and the `DC` flag (the stream's `closed()`),
 * `downstream_cx_destroy` (the listener); upstream the reset reason, `upstream_rq_rx_reset` and
 * `upstream_cx_destroy` (the pools and the connector); echo the WebSocket gauge. The listener exists
 * only because an 'error' without one would throw and stop the process; the error's text
 * (ECONNRESET, RST_STREAM codes) says nothing the close handler does not already count.
 */
export function ignoreErrorHandledOnClose(_err: Error): void {}

/**
 * An 'error' listener for a stream we hand to a caller (an upgraded upstream socket or HTTP/2 stream,
 * a non-upgraded response body), so that an error between our resolve and the caller's first listener
 * cannot throw. The caller then owns the stream and handles its end: the splice tears both sides down
 * on 'error' or 'close' and counts the upgrade, the router's body reader resets the downstream stream.
 */
export function ignoreErrorUntilHandedOver(_err: Error): void {}

/**
 * The 'error' listener of a listening net.Server. Binding errors are the listen() promise's (its own
 * 'error' listener rejects); after that a net.Server emits 'error' only when accept(2) fails (EMFILE,
 * ENFILE: the process is out of file descriptors). The server keeps listening, libuv has already
 * refused that one connection (the client sees a reset), and nothing of ours was created for it.
 * Not counted yet (docs/ARCHITECTURE.md, "Errors"): the connection never reaches any counter.
 */
export function ignoreAcceptError(_err: Error): void {}

/**
 * For a last act at process exit (flushing a log): the process is ending whatever happens and there
 * is nowhere left to report to, so the error is dropped.
 */
export function ignoreErrorAtExit(_err: unknown): void {}
