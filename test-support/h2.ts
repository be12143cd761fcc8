/**
 * The h2c (HTTP/2 over cleartext, prior knowledge) test client shared by the echo, proxy and scripts
 * tests: a session (and its server's SETTINGS), and one request (lib/h2_client.ts) on a given session
 * or on a fresh one; and `rawH2`, a client of raw frames for what no client library would send.
 */
import http2 from "node:http2";

import net from "node:net";
import { ignoreErrorHandledOnClose } from "../lib/errors.js";
import {
  type Frame,
  FrameFlag,
  FrameReader,
  FrameType,
  frame,
  H2_PREFACE,
  Setting,
  settingsFrame,
} from "../lib/h2_frames.js";
import { waitUntil } from "../lib/wait.js";

export { type H2Options, type H2Reply, h2 } from "../lib/h2_client.js";

/** Sessions whose server SETTINGS have arrived (so `remoteSettings` is the server's, not defaults). */
const settled = new WeakSet<http2.ClientHttp2Session>();

/**
 * An h2c session to `host:port`, resolved once connected (the first requests go out before the
 * server's SETTINGS are acknowledged, as with any client). A later session error reaches its streams.
 */
export function h2session(port: number, host = "127.0.0.1"): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${host}:${port}`);
    session.on("error", reject);
    session.once("remoteSettings", () => settled.add(session));
    session.once("connect", () => resolve(session));
  });
}

/** Resolves with the server's SETTINGS of a session from `h2session`, once they have arrived. */
export function serverSettings(session: http2.ClientHttp2Session): Promise<http2.Settings> {
  if (settled.has(session)) return Promise.resolve(session.remoteSettings);
  return new Promise((resolve) => session.once("remoteSettings", resolve));
}

/**
 * A client of raw frames on one connection: `send` writes frames, `alive` sends a PING and says
 * whether its ACK came back (false: the proxy closed the connection first). It announces
 * SETTINGS_HEADER_TABLE_SIZE 0, so `decodeStatus` can read the responses.
 */
export async function rawH2(port: number) {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", ignoreErrorHandledOnClose);
  const frames: Frame[] = [];
  const reader = new FrameReader((f) => frames.push(f));
  socket.on("data", (chunk: Buffer) => reader.push(chunk));
  let closed = false;
  socket.on("close", () => {
    closed = true;
  });
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write(Buffer.concat([H2_PREFACE, settingsFrame([[Setting.HEADER_TABLE_SIZE, 0]])]));
  let pings = 0;
  return {
    frames,
    send: (...bufs: Buffer[]) => socket.write(Buffer.concat(bufs)),
    async alive(): Promise<boolean> {
      const payload = Buffer.alloc(8);
      payload.writeUInt32BE(++pings, 4);
      socket.write(frame(FrameType.PING, 0, 0, payload));
      const acked = () =>
        frames.some(
          (f) => f.type === FrameType.PING && (f.flags & FrameFlag.ACK) !== 0 && f.payload.equals(payload),
        );
      await waitUntil("the PING is answered or the connection closed", () => acked() || closed);
      return acked();
    },
    /** The GOAWAY's error code, if one came. */
    get closed(): boolean {
      return closed;
    },
    goawayCode: () => frames.find((f) => f.type === FrameType.GOAWAY)?.payload.readUInt32BE(4),
    destroy: () => socket.destroy(),
  };
}
