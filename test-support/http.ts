/**
 * HTTP/1.1 and raw TCP test clients shared by the echo, proxy and scripts tests: one request
 * (lib/http_client.ts, which the conformance suite sends too), and one raw exchange of bytes. h2c is
 * in `h2.ts`, WebSockets in `ws.ts`.
 */
import net from "node:net";

export { type Reply, type RequestOptions, request } from "../lib/http_client.js";

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

/** For `raw`'s `until`: one whole HTTP/1.x response (content-length or chunked) is in. */
export function wholeResponse(received: string): boolean {
  const headEnd = received.indexOf("\r\n\r\n");
  if (headEnd === -1) return false;
  const head = received.slice(0, headEnd);
  if (/\r\ntransfer-encoding: *chunked/i.test(head)) return received.endsWith("\r\n0\r\n\r\n");
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
  return length !== null && received.length - headEnd - 4 >= Number(length[1]);
}

/** The status code of the first response in `received` (0 when there is none). */
export function statusOf(received: string): number {
  return Number(/^HTTP\/1\.[01] (\d{3})/.exec(received)?.[1] ?? 0);
}
