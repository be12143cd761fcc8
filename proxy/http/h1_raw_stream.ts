import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { ignoreErrorHandledOnClose } from "../../lib/errors.js";
import type { RawHeaders } from "../api/headers.js";
import { getRawHeader, hasRawHeader, httpDate } from "../api/headers.js";
import { closeAfterDelay } from "./h1_stream.js";
import {
  type DownstreamProtocol,
  DownstreamStream,
  type StreamContext,
  type WatchedSocket,
} from "./stream.js";

/**
 * An HTTP/1.1 Upgrade (or CONNECT) request whose socket node:http has handed over: the response is
 * written by hand. A `101` leaves the socket to the tunnel; any other response closes the connection
 * after it (`connection: close`, body delimited by content-length or by the close), as Envoy after
 * `delayed_close_timeout` or when the client closes first (closeAfterDelay).
 */
export class H1RawStream extends DownstreamStream {
  constructor(
    readonly socket: Socket,
    protocol: DownstreamProtocol,
    ctx: StreamContext,
  ) {
    super(protocol, ctx);
    this.attachConnection(socket as WatchedSocket);
    socket.on("error", ignoreErrorHandledOnClose);
    socket.on("close", () => this.closed());
  }

  onceDrain(cb: () => void): void {
    this.socket.once("drain", cb);
  }

  /**
   * `HTTP/1.1 101 Switching Protocols` with the upstream's headers (its `upgrade` and `connection`
   * in place), `date`, `server`, as Envoy 1.40 writes it; an upstream that spoke RFC 8441 sent none,
   * and `upgrade: <type>`, `connection: upgrade` come last.
   */
  acceptUpgrade(headers: RawHeaders): Duplex {
    if (this.headersSent || this.aborted) return this.socket;
    this.headersSent = true;
    this.responseCode = 101;
    this.responseHeaders = headers;
    this.ctx.stats.countResponse(101);
    if (getRawHeader(headers, "date") === undefined) headers.push("date", httpDate());
    headers.push("server", this.ctx.serverName);
    if (!hasRawHeader(headers, "upgrade")) headers.push("upgrade", this.upgrade ?? "websocket");
    if (!hasRawHeader(headers, "connection")) headers.push("connection", "upgrade");
    this.socket.write(head(101, headers));
    // The headers only feed the access log: without one, an idle tunnel does not keep them.
    if (this.ctx.onRequestComplete === null) {
      this.headers = [];
      this.responseHeaders = null;
    }
    // The exchange is over as far as HTTP goes; the tunnel owns the socket from here.
    this.ended = true;
    this.stopTimers();
    this.countEarlyResponse();
    return this.socket;
  }

  protected writeHead(status: number, headers: RawHeaders, endStream: boolean): void {
    if (this.socket.destroyed) return;
    headers.push("connection", "close");
    if (endStream && !hasRawHeader(headers, "content-length") && status !== 204 && status !== 304)
      headers.push("content-length", "0");
    this.socket.write(head(status, headers));
    if (endStream) this.closeAfterReply();
  }

  protected writeBody(chunk: Buffer): boolean {
    if (this.socket.destroyed) return true;
    return this.socket.write(chunk);
  }

  protected endBody(): void {
    this.closeAfterReply();
  }

  protected endWith(body: string): void {
    if (this.socket.destroyed) return;
    this.socket.write(body);
    this.closeAfterReply();
  }

  /** A reply other than 101 ends the exchange (Envoy's stream is gone) and then the connection. */
  private closeAfterReply(): void {
    this.releaseConnection();
    closeAfterDelay(this.socket);
  }

  protected destroyStream(): void {
    this.socket.destroy();
  }
}

function head(status: number, headers: RawHeaders): string {
  let s = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\n`;
  for (let i = 0; i < headers.length; i += 2) s += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${s}\r\n`;
}
