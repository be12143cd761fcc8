import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { HEADER_INSTANCE, HEADER_PROTOCOL } from "./exchange.js";
import type { EchoContext } from "./state.js";

/**
 * HTTP/1.x requests the parser rejects: 431 for an oversize head (`maxHeaderBytes`), 408 for a
 * head that took too long, 400 for anything malformed. Answered directly on the socket (no path is
 * known, so there is no `x-echo-path`), then the connection is closed.
 */
export function clientErrorHandler(ctx: EchoContext): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return (err, duplex) => {
    const socket = duplex as Socket & { _httpMessage?: { headersSent?: boolean } | null };
    if (err.code === "ECONNRESET" || !socket.writable || socket._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    const status =
      err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
    answerClientError(ctx, socket, status);
  };
}

/** The answer to a refused head (400, 408, 431), then the connection closes; counted as `bad_request`. */
export function answerClientError(ctx: EchoContext, socket: Socket, status: number): void {
  const reason = STATUS_CODES[status] ?? "Bad Request";
  const body = `${status} ${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n` +
      "Content-Type: text/plain; charset=utf-8\r\n" +
      `Content-Length: ${body.length}\r\n` +
      "Connection: close\r\n" +
      `${HEADER_INSTANCE}: ${ctx.config.instance}\r\n` +
      `${HEADER_PROTOCOL}: HTTP/1.1\r\n\r\n` +
      body,
  );
  ctx.metrics.request("bad_request", status, "HTTP/1.1");
}
