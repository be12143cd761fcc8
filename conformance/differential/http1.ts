/**
 * Just enough HTTP/1.1 framing to cut a byte stream into messages as they were sent: where a head
 * ends, how long its body is (content-length, chunked with trailers, none), and nothing else. The
 * recording upstream uses it on requests, the differential client on responses. No normalisation:
 * names, case, order, whitespace and chunk framing stay as they came.
 */
import type { Field } from "./types.js";

export interface Head {
  /** The request or status line. */
  line: string;
  headers: Field[];
}

/** Parses a head (without its blank line): the first line, then `name: value` lines as written. */
export function parseHead(text: string): Head {
  const [line = "", ...rest] = text.split("\r\n");
  const headers: Field[] = rest.map((l) => {
    const i = l.indexOf(":");
    return i === -1 ? [l, ""] : [l.slice(0, i), l.slice(i + 1).trim()];
  });
  return { line, headers };
}

/** The values of header `name` (any case), in order. */
export function values(headers: Field[], name: string): string[] {
  const lower = name.toLowerCase();
  return headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

/** How a message body is framed. */
export type Framing = { kind: "length"; length: number } | { kind: "chunked" } | { kind: "close" };

/**
 * Where a chunked body that starts at `text[0]` ends (the index after its last CRLF, trailers
 * included), or -1 when it is not all there yet.
 */
export function chunkedEnd(text: string): number {
  let pos = 0;
  for (;;) {
    const eol = text.indexOf("\r\n", pos);
    if (eol === -1) return -1;
    const size = Number.parseInt(text.slice(pos, eol).split(";")[0] ?? "", 16);
    if (Number.isNaN(size)) return -1;
    pos = eol + 2;
    if (size === 0) {
      if (text.startsWith("\r\n", pos)) return pos + 2;
      const end = text.indexOf("\r\n\r\n", pos);
      return end === -1 ? -1 : end + 4;
    }
    pos += size + 2;
    if (pos > text.length) return -1;
  }
}

/** Decodes a whole chunked body: the data, and the trailer fields. */
export function decodeChunked(text: string): { data: string; trailers: Field[] } {
  let pos = 0;
  let data = "";
  for (;;) {
    const eol = text.indexOf("\r\n", pos);
    if (eol === -1) return { data, trailers: [] };
    const size = Number.parseInt(text.slice(pos, eol).split(";")[0] ?? "", 16);
    pos = eol + 2;
    if (Number.isNaN(size) || size === 0) {
      const rest = text.slice(pos).replace(/\r\n\r\n$|\r\n$/, "");
      return { data, trailers: rest === "" ? [] : parseHead(`x\r\n${rest}`).headers };
    }
    data += text.slice(pos, pos + size);
    pos += size + 2;
  }
}

/**
 * Splits incoming HTTP/1.1 requests off one connection's bytes, calling `onHead` when a head is in and
 * `onComplete` when its body is. A request with `Upgrade` is complete at its head: what follows is a
 * tunnel (WebSocket frames with random masks), which is not recorded.
 */
export class RequestSplitter<R extends { body: string; complete: boolean }> {
  private buffer = "";
  private current: { request: R; framing: Framing } | null = null;
  private tunnel = false;

  constructor(
    private readonly make: (head: Head) => R,
    private readonly onComplete: (request: R) => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.tunnel) return;
    this.buffer += chunk.toString("latin1");
    for (;;) {
      if (this.current === null) {
        const end = this.buffer.indexOf("\r\n\r\n");
        if (end === -1) return;
        const head = parseHead(this.buffer.slice(0, end));
        this.buffer = this.buffer.slice(end + 4);
        const request = this.make(head);
        if (values(head.headers, "upgrade").length > 0) {
          this.tunnel = true;
          this.finish(request);
          return;
        }
        const chunked = values(head.headers, "transfer-encoding").some((v) => /chunked/i.test(v));
        const length = Number(values(head.headers, "content-length")[0] ?? 0);
        this.current = {
          request,
          framing: chunked
            ? { kind: "chunked" }
            : { kind: "length", length: Number.isNaN(length) ? 0 : length },
        };
      }
      const { request, framing } = this.current;
      if (framing.kind === "chunked") {
        const end = chunkedEnd(request.body + this.buffer);
        if (end === -1) {
          request.body += this.buffer;
          this.buffer = "";
          return;
        }
        const all = request.body + this.buffer;
        request.body = all.slice(0, end);
        this.buffer = all.slice(end);
      } else if (framing.kind === "length") {
        const take = Math.min(framing.length - request.body.length, this.buffer.length);
        request.body += this.buffer.slice(0, take);
        this.buffer = this.buffer.slice(take);
        if (request.body.length < framing.length) return;
      }
      this.current = null;
      this.finish(request);
    }
  }

  private finish(request: R): void {
    request.complete = true;
    this.onComplete(request);
  }
}
