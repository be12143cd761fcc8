/**
 * The body of a request as the server connection delivers it: a Readable fed by the connection, read
 * with backpressure (when it is full the connection stops reading its socket until `_read`).
 */
import { Readable } from "node:stream";
import { ignoreErrorHandledOnClose } from "../errors.js";

/** The connection that feeds a body. */
export interface BodySource {
  /** The body's reader wants more: resume reading the socket. */
  readMore(): void;
}

/**
 * How much of a body is held before the socket stops being read. Node's default (16 KiB) paused the
 * socket mid-body, leaving a 64 KiB body's tail in the kernel until the body was read: one more
 * read, one more turn of the loop, and a body that never arrives whole within one iteration (the
 * router then streams it instead of sending it with the head). 1 MiB is Envoy's
 * `per_connection_buffer_limit_bytes` default, the same bound the server connection keeps.
 */
const HIGH_WATER_MARK = 1024 * 1024;

export class RequestBody extends Readable {
  constructor(private readonly source: BodySource) {
    super({ highWaterMark: HIGH_WATER_MARK });
    // Destroyed with an error when the connection closes mid-body: the stream's close handler counts it.
    this.on("error", ignoreErrorHandledOnClose);
  }

  override _read(): void {
    this.source.readMore();
  }
}
