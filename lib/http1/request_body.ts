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

export class RequestBody extends Readable {
  constructor(private readonly source: BodySource) {
    super();
    // Destroyed with an error when the connection closes mid-body: the stream's close handler counts it.
    this.on("error", ignoreErrorHandledOnClose);
  }

  override _read(): void {
    this.source.readMore();
  }
}
