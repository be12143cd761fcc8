/**
 * One HTTP/2 stream as the application sees it: callbacks for what arrives, methods for what to send.
 * State and flow-control counters are public for the connection (which does all the work); the
 * application uses only the callbacks and the methods.
 */
import type { Http2Connection } from "./connection.js";
import { ErrorCode } from "./frames.js";

export type Fields = string[];

export class Http2Stream {
  /** Request or response body bytes; the view is valid only during the call (copy to keep it). */
  onData: ((chunk: Buffer) => void) | null = null;
  /** The peer ended its side (END_STREAM), after the last onData or onTrailers. */
  onEnd: (() => void) | null = null;
  onTrailers: ((fields: Fields) => void) | null = null;
  /** Client role: each response head, informational (1xx) ones first. */
  onHeaders: ((fields: Fields, endStream: boolean) => void) | null = null;
  /** The stream was reset by the peer, by a protocol error, or by the connection's end. */
  onReset: ((code: number) => void) | null = null;
  /** Everything `write()` queued has been sent (called only after a write returned false). */
  onDrain: (() => void) | null = null;
  /** The stream is gone (ended both ways or reset); called once, last. */
  onClose: (() => void) | null = null;
  /**
   * The application's object for this stream: callbacks are called with the stream as `this`, so
   * shared module-level functions can find their owner here instead of a closure per stream.
   */
  owner: unknown = null;

  sendWindow: number;
  recvWindow: number;
  /** Received bytes the application has consumed and no WINDOW_UPDATE has returned yet. */
  recvUnacked = 0;
  /** Bytes delivered while paused: returned to the peer's window on resume(). */
  held = 0;
  paused = false;
  headersSent = false;
  localEnded = false;
  endQueued = false;
  trailers: Fields | null = null;
  remoteEnded = false;
  closed = false;
  finalResponse = false;
  isHead = false;
  needDrain = false;
  blocked = false;
  queue: Buffer[] = [];
  queueOffset = 0;
  queued = 0;
  expectedLength = -1;
  receivedLength = 0;

  constructor(
    readonly id: number,
    readonly connection: Http2Connection,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Sends the response head (server) or, for a client stream, nothing: `request()` sent it. */
  respond(fields: readonly string[], endStream = false): void {
    if (this.closed || this.localEnded || this.endQueued) return;
    this.connection.sendHeaders(this, fields, endStream);
  }

  /**
   * Queues body bytes, ending our side with them when `endStream`; false when some wait for flow
   * control or the socket (onDrain follows). `data` must not change until sent.
   */
  write(data: Buffer, endStream = false): boolean {
    return this.connection.writeData(this, data, endStream);
  }

  /** Ends our side after the queued data, with trailers when given. */
  end(trailers?: readonly string[]): void {
    if (this.closed || this.localEnded || this.endQueued) return;
    this.endQueued = true;
    if (trailers !== undefined && trailers.length > 0) this.trailers = trailers.slice();
    this.connection.sendQueued(this);
  }

  reset(code: number = ErrorCode.CANCEL): void {
    this.connection.resetStream(this, code, false);
  }

  /** Stops returning window to the peer: it can send at most the current window, then waits. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.recvUnacked += this.held;
    this.held = 0;
    this.connection.returnWindow(this);
  }
}
