/**
 * WebSocket test clients: over an HTTP/1.1 upgrade, and over an HTTP/2 extended CONNECT stream
 * (RFC 8441) with the `ws` package's framing; plus waiting for the next message and for the close.
 */
import type http from "node:http";
import type http2 from "node:http2";
import { WebSocket } from "ws";
import { serverSettings } from "./h2.js";

/**
 * Opens a WebSocket over HTTP/1.1 (`wss`: over TLS, e.g. with `options.ca`) and waits for it to be
 * open (also returns the 101 headers).
 */
export function wsConnect(
  port: number,
  path = "/ws",
  options: ConstructorParameters<typeof WebSocket>[2] = {},
  scheme: "ws" | "wss" = "ws",
): Promise<{ ws: WebSocket; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${scheme}://127.0.0.1:${port}${path}`, options);
    let headers: http.IncomingHttpHeaders = {};
    ws.once("upgrade", (res) => {
      headers = res.headers;
    });
    ws.once("open", () => resolve({ ws, headers }));
    ws.once("error", reject);
  });
}

type ClientOverStream = WebSocket & { _isServer: boolean; setSocket(s: unknown, h: Buffer, o: object): void };

/**
 * A WebSocket over HTTP/2 extended CONNECT (RFC 8441) on `session` (from `h2session`): waits for
 * the server's SETTINGS_ENABLE_CONNECT_PROTOCOL, sends `:method CONNECT` + `:protocol websocket`
 * (plus `headers`, e.g. a `sec-websocket-key` for an HTTP/1.1 upstream behind a proxy), and on a
 * 200 runs `ws`'s client framing (masked frames) over the stream.
 */
export async function wsOverH2(
  session: http2.ClientHttp2Session,
  path = "/ws",
  headers: http2.OutgoingHttpHeaders = {},
): Promise<{ ws: WebSocket; headers: http2.IncomingHttpHeaders; stream: http2.ClientHttp2Stream }> {
  if ((await serverSettings(session)).enableConnectProtocol !== true)
    throw new Error("server did not enable the extended CONNECT protocol");
  return new Promise((resolve, reject) => {
    const stream = session.request(
      {
        ":method": "CONNECT",
        ":protocol": "websocket",
        ":path": path,
        ":scheme": "http",
        ":authority": `${session.socket.remoteAddress}:${session.socket.remotePort}`,
        "sec-websocket-version": "13",
        ...headers,
      },
      { endStream: false },
    );
    stream.on("error", reject);
    stream.once("response", (response) => {
      if (response[":status"] !== 200) {
        stream.close();
        reject(new Error(`status ${response[":status"]}`));
        return;
      }
      const Client = WebSocket as unknown as new (
        address: null,
        protocols: undefined,
        options: { autoPong: boolean; maxPendingAutoPongs: number; closeTimeout: number },
      ) => ClientOverStream;
      const ws = new Client(null, undefined, { autoPong: true, maxPendingAutoPongs: 60, closeTimeout: 5000 });
      ws._isServer = false; // client side: mask outgoing frames, expect unmasked ones
      ws.setSocket(stream, Buffer.alloc(0), { maxPayload: 0, allowSynchronousEvents: true });
      resolve({ ws, headers: response, stream });
    });
  });
}

/** The next message with its binary flag. */
export function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) =>
    ws.once("message", (data, isBinary) => resolve({ data: data as Buffer, isBinary })),
  );
}

/** Resolves with the close code and reason once `ws` has closed. */
export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
}
