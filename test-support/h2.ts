/**
 * The h2c (HTTP/2 over cleartext, prior knowledge) test client shared by the echo, proxy and scripts
 * tests: a session (and its server's SETTINGS), and one request (lib/h2_client.ts) on a given session
 * or on a fresh one.
 */
import http2 from "node:http2";

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
