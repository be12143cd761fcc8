import { pipeline } from "node:stream";
import { applyHeaders, type Controls } from "../controls.js";
import { baseHeaders, bodyForbidden, type Exchange, send, sendChunked, writeHead } from "../exchange.js";
import { sendSized } from "../reply.js";

/**
 * POST /echo: the request body back byte for byte, with the request's Content-Type
 * (`application/octet-stream` when it has none). A declared Content-Length is streamed back with
 * backpressure; a body of unknown length (or one to answer with `echo_chunked`) is collected first.
 * Over `maxBodyBytes` answers 413.
 */
export function echo(x: Exchange, c: Readonly<Controls>): void {
  const limit = x.ctx.config.maxBodyBytes;
  const declared = contentLength(x);
  if (declared !== undefined && declared > limit) {
    tooLarge(x, limit);
    return;
  }
  const status = c.status ?? 200;
  if (c.size !== undefined) {
    collect(x, limit, () => sendSized(x, status, c.size ?? 0, c));
    return;
  }
  const type = x.req.headers["content-type"] ?? "application/octet-stream";
  if (declared === undefined || c.chunked === true || bodyForbidden(status, x.req.method)) {
    collect(x, limit, (body) => {
      const extra = {};
      applyHeaders(extra, c);
      if (c.chunked === true) sendChunked(x, status, body, type, extra);
      else send(x, status, body, type, extra);
    });
    return;
  }
  const headers = baseHeaders(x);
  headers["content-type"] = type;
  applyHeaders(headers, c);
  headers["content-length"] = declared;
  writeHead(x.res, status, headers);
  pipeline(x.req, x.res, (err) => {
    if (err && !x.res.destroyed) x.res.destroy();
  });
}

function contentLength(x: Exchange): number | undefined {
  const v = x.req.headers["content-length"];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

export function tooLarge(x: Exchange, limit: number): void {
  send(x, 413, `request body exceeds the limit of ${limit} bytes\n`);
  // The rest of the body is read and dropped so the connection stays usable and the client sees the 413.
  x.req.resume();
}

/** Reads the whole body (at most `limit` bytes); over the limit answers 413 and never calls `done`. */
export function collect(x: Exchange, limit: number, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let total = 0;
  let over = false;
  const onData = (chunk: Buffer): void => {
    total += chunk.length;
    if (total > limit) {
      over = true;
      chunks.length = 0;
      x.req.removeListener("data", onData);
      tooLarge(x, limit);
      return;
    }
    chunks.push(chunk);
  };
  x.req.on("data", onData);
  x.req.once("end", () => {
    if (!over) done(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total));
  });
  x.req.once("error", () => {
    x.res.destroy();
  });
}
