import type http from "node:http";
import http2 from "node:http2";
import { Writable } from "node:stream";
import { WebSocket } from "ws";
import { type EchoOptions, type EchoServer, startEcho } from "../server.js";

/** An echo on 127.0.0.1, ephemeral port, no access log, no process metrics. */
export function start(options: EchoOptions = {}): Promise<EchoServer> {
  return startEcho({
    host: "127.0.0.1",
    port: 0,
    instance: "test-echo",
    accessLog: false,
    defaultMetrics: false,
    ...options,
  });
}

/** Collects log lines written by the echo's logger. */
export class LogSink extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    for (const line of chunk.toString("utf8").split("\n")) if (line !== "") this.lines.push(line);
    cb();
  }
}

/** HTTP/1.1 request (no keep-alive agent) and raw TCP exchange: the clients the proxy tests use too. */
export { type Reply, raw, request as h1 } from "../../test-support/http.js";

/** One HTTP/2 (h2c prior knowledge) session to the echo. */
export function h2session(port: number): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.once("connect", () => resolve(session));
    session.once("error", reject);
  });
}

export interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
}

export function h2request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer | string,
): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      responseHeaders = h;
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () =>
      resolve({
        status: Number(responseHeaders[":status"]),
        headers: responseHeaders,
        body: Buffer.concat(chunks),
      }),
    );
    stream.on("error", reject);
    if (body !== undefined) stream.end(body);
  });
}

/** Opens a WebSocket over HTTP/1.1 and waits for it to be open (also returns the 101 headers). */
export function wsConnect(
  port: number,
  path = "/ws",
  options: ConstructorParameters<typeof WebSocket>[2] = {},
): Promise<{ ws: WebSocket; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, options);
    let headers: http.IncomingHttpHeaders = {};
    ws.once("upgrade", (res) => {
      headers = res.headers;
    });
    ws.once("open", () => resolve({ ws, headers }));
    ws.once("error", reject);
  });
}

/**
 * A WebSocket client over HTTP/2 extended CONNECT (RFC 8441): waits for the server's
 * SETTINGS_ENABLE_CONNECT_PROTOCOL, sends `:method CONNECT` + `:protocol websocket`, then runs
 * `ws`'s client framing (masked frames) over the stream.
 */
export function wsOverH2(
  session: http2.ClientHttp2Session,
  port: number,
  path = "/ws",
): Promise<{ ws: WebSocket; headers: http2.IncomingHttpHeaders; stream: http2.ClientHttp2Stream }> {
  return new Promise((resolve, reject) => {
    const go = (): void => {
      if (!session.remoteSettings.enableConnectProtocol) {
        reject(new Error("server did not enable the extended CONNECT protocol"));
        return;
      }
      const stream = session.request(
        {
          ":method": "CONNECT",
          ":protocol": "websocket",
          ":path": path,
          ":scheme": "http",
          ":authority": `127.0.0.1:${port}`,
          "sec-websocket-version": "13",
        },
        { endStream: false },
      );
      stream.on("error", reject);
      stream.once("response", (headers) => {
        if (headers[":status"] !== 200) {
          stream.close();
          reject(new Error(`status ${headers[":status"]}`));
          return;
        }
        const Ctor = WebSocket as unknown as new (
          a: null,
          p: undefined,
          o: { autoPong: boolean; maxPendingAutoPongs: number; closeTimeout: number },
        ) => WebSocket & { _isServer: boolean; setSocket(s: unknown, h: Buffer, o: object): void };
        const ws = new Ctor(null, undefined, { autoPong: true, maxPendingAutoPongs: 60, closeTimeout: 5000 });
        ws._isServer = false; // client side: mask outgoing frames, expect unmasked ones
        ws.setSocket(stream, Buffer.alloc(0), { maxPayload: 0, allowSynchronousEvents: true });
        resolve({ ws, headers, stream });
      });
    };
    if (
      session.remoteSettings.enableConnectProtocol !== undefined &&
      session.remoteSettings.enableConnectProtocol
    )
      go();
    else session.once("remoteSettings", go);
  });
}

/** Next message with its binary flag. */
export function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) =>
    ws.once("message", (data, isBinary) => resolve({ data: data as Buffer, isBinary })),
  );
}

export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
}
