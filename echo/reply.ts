import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import { applyHeaders, type Controls } from "./controls.js";
import { baseHeaders, bodyForbidden, type Exchange, send, sendChunked, writeHead } from "./exchange.js";

/** Shared filler for `echo_size` bodies: printable, so `curl` output stays readable. */
const CHUNK = Buffer.alloc(64 * 1024, "x");

/** Sends a route's answer shaped by the controls: status override, extra headers, or a sized body. */
export function reply(
  x: Exchange,
  c: Readonly<Controls>,
  status: number,
  body: string | Buffer,
  contentType: string,
): void {
  const finalStatus = c.status ?? status;
  if (c.size !== undefined) {
    sendSized(x, finalStatus, c.size, c);
    return;
  }
  if (c.headers === undefined && c.chunked !== true) {
    send(x, finalStatus, body, contentType);
    return;
  }
  const extra: OutgoingHttpHeaders = {};
  applyHeaders(extra, c);
  if (c.chunked === true) sendChunked(x, finalStatus, body, contentType, extra);
  else send(x, finalStatus, body, contentType, extra);
}

/**
 * A body of exactly `size` bytes, written in chunks with backpressure. With `echo_chunked` there is
 * no `content-length` and the writes (HTTP/1.1 chunks) are at most half the body, so at least two.
 */
export function sendSized(x: Exchange, status: number, size: number, c: Readonly<Controls>): void {
  const headers = baseHeaders(x);
  headers["content-type"] = "text/plain; charset=utf-8";
  applyHeaders(headers, c);
  const noBody = bodyForbidden(status, x.req.method);
  if (status !== 204 && status !== 304 && c.chunked !== true) headers["content-length"] = size;
  writeHead(x.res, status, headers);
  if (noBody) {
    x.res.end();
    return;
  }
  const res = x.res;
  let left = size;
  const step = c.chunked === true ? Math.min(CHUNK.length, Math.ceil(size / 2)) : CHUNK.length;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, step);
      left -= n;
      const ok = (res as ServerResponse).write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
      if (!ok && left > 0) {
        res.once("drain", pump);
        return;
      }
    }
    res.end();
  };
  res.once("close", () => res.removeListener("drain", pump));
  pump();
}
