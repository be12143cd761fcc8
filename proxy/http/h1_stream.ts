import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { ignoreErrorHandledOnClose } from "../../lib/errors.js";
import type { RawHeaders } from "../conn_pool/types.js";
import { hasRawHeader } from "./headers.js";
import { type DownstreamProtocol, DownstreamStream, type StreamContext } from "./stream.js";

/**
 * Connections whose current response ends them (`connection: close`): a codec error that follows
 * on them (the rest of a request we answered early) gets no second response.
 */
export const closingSockets = new WeakSet<object>();

/** A request served by node:http (HTTP/1.0 and HTTP/1.1). */
export class H1Stream extends DownstreamStream {
  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    protocol: DownstreamProtocol,
    ctx: StreamContext,
  ) {
    super(protocol, ctx);
    req.on("error", ignoreErrorHandledOnClose);
    res.on("error", ignoreErrorHandledOnClose);
    res.on("close", () => this.closed());
  }

  protected get scheme(): string {
    return "http";
  }

  onceDrain(cb: () => void): void {
    this.res.once("drain", cb);
  }

  acceptUpgrade(): Duplex {
    throw new Error("not an upgrade stream");
  }

  /**
   * The head as Envoy's HTTP/1 codec writes it: no `connection`/`keep-alive` header on a persistent
   * HTTP/1.1 connection, `connection: close` when this response ends it (draining, a request not
   * read to its end, a client that asked to close, HTTP/1.0 without a length), `connection:
   * keep-alive` for an HTTP/1.0 client that keeps it; then the framing the body needs:
   * `content-length: 0` for a complete response without one (not for HEAD, 204, 304),
   * `transfer-encoding: chunked` for a body of unknown length on HTTP/1.1.
   */
  protected writeHead(status: number, headers: RawHeaders, endStream: boolean): void {
    const res = this.res;
    const noBody = status < 200 || status === 204 || status === 304 || this.method === "HEAD";
    const length = noBody || hasRawHeader(headers, "content-length");
    const http10 = this.protocol === "HTTP/1.0";
    if (
      this.ctx.draining ||
      this.closeConnection ||
      !res.shouldKeepAlive ||
      (http10 && !length && !endStream)
    ) {
      headers.push("connection", "close");
      closingSockets.add(this.req.socket);
    } else {
      // node:http would add `Connection: keep-alive` and `Keep-Alive: timeout=N`.
      res.removeHeader("connection");
      if (http10) headers.push("connection", "keep-alive");
    }
    if (!length) {
      if (endStream) headers.push("content-length", "0");
      else if (!http10) headers.push("transfer-encoding", "chunked");
    }
    res.writeHead(status, headers);
    if (endStream) res.end();
  }

  protected writeBody(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }

  /** Trailers are dropped: Envoy's HTTP/1 codec writes none unless `enable_trailers` (not supported). */
  protected endBody(_trailers: RawHeaders | null): void {
    this.res.end();
  }

  protected endWith(body: string): void {
    this.res.end(body);
  }

  protected destroyStream(): void {
    this.res.destroy();
  }
}
