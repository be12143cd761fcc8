/**
 * HTTP/1.1 and raw TCP test clients shared by the echo, proxy and scripts tests: one request on a
 * fresh connection, and one raw exchange of bytes. h2c is in `h2.ts`, WebSockets in `ws.ts`.
 */
import http from "node:http";
import net from "node:net";

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Header names and values as received: [name, value, name, value, ...]. */
  rawHeaders: string[];
  trailers: NodeJS.Dict<string>;
  body: Buffer;
  /** `body` as UTF-8. */
  text: string;
  /** The body arrived whole (false: the connection was reset or closed mid-body). */
  complete: boolean;
}

export interface RequestOptions {
  method?: string;
  /** An object, or a raw list [name, value, ...] to send repeated or oddly cased names as they are. */
  headers?: http.OutgoingHttpHeaders | string[];
  body?: Buffer | string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Fail the request when the socket is idle this long (default: no limit). */
  timeoutMs?: number;
  /** Resolve with `complete: false` when the response breaks off mid-body (default: reject). */
  acceptTruncated?: boolean;
}

/** One HTTP/1.1 request on a fresh connection (no keep-alive agent); resolves with the whole response. */
export function request(port: number, path: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: options.host ?? "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        headers: options.headers,
        agent: false,
        timeout: options.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (err) => {
          if (options.acceptTruncated !== true) reject(err);
        });
        res.on("close", () => {
          const body = Buffer.concat(chunks);
          const complete = res.complete;
          if (!complete && options.acceptTruncated !== true) {
            reject(new Error(`response to ${path} broke off after ${body.length} bytes`));
            return;
          }
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            trailers: res.trailers,
            body,
            text: body.toString("utf8"),
            complete,
          });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout after ${options.timeoutMs} ms: ${path}`)));
    req.on("error", reject);
    req.end(options.body);
  });
}

export interface RawOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Half-close our side this long after writing (0: at once); default: keep it open. */
  endAfterMs?: number;
  /** Stop after this long (destroying the socket) with what has come so far (default 2000 ms). */
  withinMs?: number;
  /** Stop (destroying the socket) as soon as what has come satisfies this. */
  until?: (received: string) => boolean;
}

export interface RawReply {
  /** Everything the peer sent, as latin1 (one character per byte). */
  text: string;
  /** The peer closed (or reset) the connection before we stopped. */
  closedByPeer: boolean;
}

/**
 * Connects, writes `data`, and collects what comes back until the peer closes, `until` holds or
 * `withinMs` passes. Rejects only when the connection cannot be made; a reset once connected counts
 * as a close by the peer.
 */
export function raw(port: number, data: string | Buffer, opts: RawOptions = {}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, opts.host ?? "127.0.0.1");
    let text = "";
    let stopped = false;
    let connected = false;
    let endTimer: NodeJS.Timeout | undefined;
    const stop = (closedByPeer: boolean): void => {
      if (stopped) return;
      stopped = true;
      clearTimeout(giveUp);
      clearTimeout(endTimer);
      socket.destroy();
      resolve({ text, closedByPeer });
    };
    const giveUp = setTimeout(() => stop(false), opts.withinMs ?? 2000);
    socket.on("connect", () => {
      connected = true;
      socket.write(data);
      if (opts.endAfterMs !== undefined) endTimer = setTimeout(() => socket.end(), opts.endAfterMs);
    });
    socket.on("data", (c: Buffer) => {
      text += c.toString("latin1");
      if (opts.until?.(text)) stop(false);
    });
    socket.on("error", (err) => {
      if (connected) return; // "close" follows
      stopped = true;
      clearTimeout(giveUp);
      reject(err);
    });
    socket.on("close", () => stop(true));
  });
}

/** For `raw`'s `until`: one whole HTTP/1.x response with a content-length is in. */
export function wholeResponse(received: string): boolean {
  const headEnd = received.indexOf("\r\n\r\n");
  if (headEnd === -1) return false;
  const length = /\r\ncontent-length: *(\d+)/i.exec(received.slice(0, headEnd));
  return length !== null && received.length - headEnd - 4 >= Number(length[1]);
}

/** The status code of the first response in `received` (0 when there is none). */
export function statusOf(received: string): number {
  return Number(/^HTTP\/1\.[01] (\d{3})/.exec(received)?.[1] ?? 0);
}
