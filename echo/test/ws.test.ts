import type { ClientHttp2Session } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WebSocket } from "ws";
import { h2, h2session, serverSettings } from "../../test-support/h2.js";
import { closed, nextMessage, wsConnect, wsOverH2 } from "../../test-support/ws.js";
import type { EchoServer } from "../server.js";
import { start } from "./helpers.js";

let echo: EchoServer;
let session: ClientHttp2Session;
beforeAll(async () => {
  echo = await start({ maxWsMessageBytes: 64 * 1024 });
  session = await h2session(echo.port);
});
afterAll(async () => {
  session.close();
  await echo.close();
});

/** Both ways to open a WebSocket to the echo: the HTTP/1.1 Upgrade and HTTP/2 extended CONNECT. */
const transports: [string, (path?: string) => Promise<{ ws: WebSocket }>][] = [
  ["HTTP/1.1 Upgrade", (path) => wsConnect(echo.port, path)],
  ["HTTP/2 extended CONNECT (RFC 8441)", (path) => wsOverH2(session, path)],
];

for (const [name, open] of transports) {
  describe(`WebSocket over ${name}`, () => {
    it("echoes text as text and binary as binary, and answers a ping", async () => {
      const { ws } = await open();
      ws.send("hello");
      const text = await nextMessage(ws);
      expect(text.isBinary).toBe(false);
      expect(text.data.toString()).toBe("hello");
      const bin = Buffer.from([0, 255, 1, 2]);
      ws.send(bin);
      const back = await nextMessage(ws);
      expect(back.isBinary).toBe(true);
      expect(back.data.equals(bin)).toBe(true);
      const pong = new Promise<Buffer>((resolve) => ws.once("pong", resolve));
      ws.ping("p1");
      expect((await pong).toString()).toBe("p1");
      const done = closed(ws);
      ws.close(1000, "bye");
      expect((await done).code).toBe(1000);
    });

    it("closes with 1009 when a message exceeds the limit", async () => {
      const { ws } = await open();
      const done = closed(ws);
      ws.send(Buffer.alloc(64 * 1024 + 1));
      expect((await done).code).toBe(1009);
    });

    it("?close=CODE: echoes the first message, then the server closes with CODE", async () => {
      const { ws } = await open("/ws?close=4002");
      const done = closed(ws);
      ws.send("last words");
      expect((await nextMessage(ws)).data.toString()).toBe("last words");
      expect(await done).toEqual({ code: 4002, reason: "closed by echo" });
    });
  });
}

describe("WebSocket over HTTP/1.1 Upgrade", () => {
  it("accepts any origin and carries identity headers on the 101", async () => {
    const { ws, headers } = await wsConnect(echo.port, "/ws", { origin: "http://evil.test" });
    expect(headers["x-echo-instance"]).toBe("test-echo");
    expect(headers["x-echo-protocol"]).toBe("HTTP/1.1");
    expect(headers["x-echo-path"]).toBe("/ws");
    expect(headers["access-control-allow-origin"]).toBe("*");
    const done = closed(ws);
    ws.close();
    await done;
  });

  it("?close with a code a server may not send is refused with 1008", async () => {
    for (const bad of ["1005", "2999", "5000", "abc"]) {
      const { ws } = await wsConnect(echo.port, `/ws?close=${bad}`);
      expect((await closed(ws)).code, bad).toBe(1008);
    }
  });

  it("counts open WebSockets in the metrics", async () => {
    const { ws } = await wsConnect(echo.port);
    const text = await echo.context.metrics.render();
    expect(text).toMatch(/echo_websockets_open\{protocol="HTTP\/1\.1"\} 1/);
    const done = closed(ws);
    ws.close();
    await done;
  });

  it("404s an upgrade on another path", async () => {
    await expect(wsConnect(echo.port, "/other")).rejects.toThrow(/404/);
  });
});

describe("WebSocket over HTTP/2 extended CONNECT (RFC 8441)", () => {
  it("advertises SETTINGS_ENABLE_CONNECT_PROTOCOL, carries identity headers, counts the socket", async () => {
    expect((await serverSettings(session)).enableConnectProtocol).toBe(true);
    const { ws, headers } = await wsOverH2(session);
    expect(headers["x-echo-protocol"]).toBe("HTTP/2.0");
    expect(headers["x-echo-path"]).toBe("/ws");
    expect(headers["x-echo-instance"]).toBe("test-echo");
    expect(await echo.context.metrics.render()).toMatch(/echo_websockets_open\{protocol="HTTP\/2\.0"\} 1/);
    const done = closed(ws);
    ws.close(1000);
    expect((await done).code).toBe(1000);
  });

  it("runs several WebSockets and plain requests on one session", async () => {
    const a = await wsOverH2(session);
    const b = await wsOverH2(session);
    a.ws.send("a");
    b.ws.send("b");
    const [ma, mb] = await Promise.all([nextMessage(a.ws), nextMessage(b.ws)]);
    expect(ma.data.toString()).toBe("a");
    expect(mb.data.toString()).toBe("b");
    const r = await h2(session, "/hello");
    expect(r.status).toBe(200);
    const closes = [closed(a.ws), closed(b.ws)];
    a.ws.close();
    b.ws.close();
    await Promise.all(closes);
  });

  it("answers an extended CONNECT to another path with 404", async () => {
    await expect(wsOverH2(session, "/nope")).rejects.toThrow(/404/);
  });
});
