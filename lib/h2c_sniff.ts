/**
 * Telling h2c prior knowledge from HTTP/1.x on a fresh TCP connection (Envoy's AUTO codec), for
 * every server here that serves both on one port: the echo service and the proxy's listeners.
 */
import type { Socket } from "node:net";

/** The HTTP/2 client connection preface (RFC 9113 §3.4). */
export const H2_PREFACE: Buffer = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export type SniffedProtocol = "http1" | "http2";

/**
 * Reads the first bytes of `socket` and decides between h2c prior knowledge (the whole 24-byte
 * preface) and HTTP/1.1 (any byte that differs from the preface). A client that sends part of the
 * preface and waits is waited for; one that closes, errors or stays silent for `timeoutMs`
 * (0 = no limit) is destroyed without a callback.
 *
 * `onDecided` gets the bytes read so far; the caller puts them back with `socket.unshift(peeked)`
 * before handing the socket to an HTTP server. The socket is left paused.
 */
export function sniff(
  socket: Socket,
  timeoutMs: number,
  onDecided: (protocol: SniffedProtocol, peeked: Buffer) => void,
): void {
  let peeked: Buffer = EMPTY;
  let timer: NodeJS.Timeout | null = null;

  const cleanup = (): void => {
    socket.removeListener("data", onData);
    socket.removeListener("end", onGone);
    socket.removeListener("close", onGone);
    if (timer !== null) clearTimeout(timer);
  };
  const onGone = (): void => {
    cleanup();
    socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    peeked = peeked.length === 0 ? chunk : Buffer.concat([peeked, chunk]);
    const decision = decide(peeked);
    if (decision === null) return;
    socket.pause();
    cleanup();
    onDecided(decision, peeked);
  };

  if (timeoutMs > 0) {
    timer = setTimeout(onGone, timeoutMs);
    timer.unref();
  }
  socket.on("data", onData);
  socket.on("end", onGone);
  socket.on("close", onGone);
}

/** "http2" once the whole preface is there, "http1" at the first differing byte, else null (wait). */
export function decide(bytes: Buffer): SniffedProtocol | null {
  const n = Math.min(bytes.length, H2_PREFACE.length);
  for (let i = 0; i < n; i++) {
    if (bytes[i] !== H2_PREFACE[i]) return "http1";
  }
  return n === H2_PREFACE.length ? "http2" : null;
}

const EMPTY = Buffer.alloc(0);
