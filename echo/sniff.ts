import type { Socket } from "node:net";

/** The HTTP/2 client connection preface (RFC 9113 §3.4). */
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * Reads just enough of a new connection to tell h2c prior knowledge from HTTP/1.x, puts the bytes
 * back (`unshift`) and calls `done`. The socket is left paused with the peeked bytes buffered, ready
 * to be handed to an `http` or `http2` server with `emit("connection", socket)`.
 * A connection that closes before saying enough is destroyed and `done` is never called.
 */
export function sniffPreface(socket: Socket, done: (isHttp2: boolean) => void): void {
  let seen: Buffer | undefined;
  const onData = (chunk: Buffer): void => {
    seen = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, PREFACE.length);
    const matches = seen.compare(PREFACE, 0, n, 0, n) === 0;
    if (matches && seen.length < PREFACE.length) return; // a prefix of the preface: need more bytes
    socket.removeListener("data", onData);
    socket.removeListener("end", onEnd);
    socket.pause();
    socket.unshift(seen);
    done(matches);
  };
  const onEnd = (): void => {
    socket.destroy();
  };
  socket.on("data", onData);
  socket.on("end", onEnd);
}
