import type { ClientHttp2Session } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EchoServer } from "../server.js";
import { closed, h2request, h2session, nextMessage, start, wsConnect, wsOverH2 } from "./helpers.js";

let echo: EchoServer;
beforeAll(async () => {
  echo = await start({ maxWsMessageBytes: 64 * 1024 });
});
afterAll(() => echo.close());

describe("WebSocket over HTTP/1.1 Upgrade", () => {
  it("echoes text as text and binary as binary, any origin, identity on the 101", async () => {
    const { ws, headers } = await wsConnect(echo.port, "/ws", { origin: "http://evil.test" });
    expect(headers["x-echo-instance"]).toBe("test-echo");
    expect(headers["x-echo-protocol"]).toBe("HTTP/1.1");
    expect(headers["x-echo-path"]).toBe("/ws");
    expect(headers["access-control-allow-origin"]).toBe("*");
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
    const { ws } = await wsConnect(echo.port);
    const done = closed(ws);
    ws.send(Buffer.alloc(64 * 1024 + 1));
    expect((await done).code).toBe(1009);
  });

  it("?close=CODE: echoes the first message, then the server closes with CODE", async () => {
    const { ws } = await wsConnect(echo.port, "/ws?close=4002");
    const done = closed(ws);
    ws.send("last words");
    expect((await nextMessage(ws)).data.toString()).toBe("last words");
    expect(await done).toEqual({ code: 4002, reason: "closed by echo" });
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
  let session: ClientHttp2Session;
  beforeAll(async () => {
    session = await h2session(echo.port);
  });
  afterAll(() => session.close());

  it("advertises SETTINGS_ENABLE_CONNECT_PROTOCOL and echoes text and binary", async () => {
    const { ws, headers } = await wsOverH2(session, echo.port);
    expect(headers["x-echo-protocol"]).toBe("HTTP/2.0");
    expect(headers["x-echo-path"]).toBe("/ws");
    expect(headers["x-echo-instance"]).toBe("test-echo");
    ws.send("over h2");
    const t = await nextMessage(ws);
    expect(t.isBinary).toBe(false);
    expect(t.data.toString()).toBe("over h2");
    ws.send(Buffer.from([9, 8, 7]));
    const b = await nextMessage(ws);
    expect(b.isBinary).toBe(true);
    expect([...b.data]).toEqual([9, 8, 7]);
    const pong = new Promise<Buffer>((resolve) => ws.once("pong", resolve));
    ws.ping("h2ping");
    expect((await pong).toString()).toBe("h2ping");
    expect(await echo.context.metrics.render()).toMatch(/echo_websockets_open\{protocol="HTTP\/2\.0"\} 1/);
    const done = closed(ws);
    ws.close(1000);
    expect((await done).code).toBe(1000);
  });

  it("runs several WebSockets and plain requests on one session", async () => {
    const a = await wsOverH2(session, echo.port);
    const b = await wsOverH2(session, echo.port);
    a.ws.send("a");
    b.ws.send("b");
    const [ma, mb] = await Promise.all([nextMessage(a.ws), nextMessage(b.ws)]);
    expect(ma.data.toString()).toBe("a");
    expect(mb.data.toString()).toBe("b");
    const r = await h2request(session, { ":path": "/hello" });
    expect(r.status).toBe(200);
    const closes = [closed(a.ws), closed(b.ws)];
    a.ws.close();
    b.ws.close();
    await Promise.all(closes);
  });

  it("closes with 1009 over HTTP/2 too", async () => {
    const { ws } = await wsOverH2(session, echo.port);
    const done = closed(ws);
    ws.send(Buffer.alloc(64 * 1024 + 1));
    expect((await done).code).toBe(1009);
  });

  it("?close=CODE closes from the server over HTTP/2 too", async () => {
    const { ws } = await wsOverH2(session, echo.port, "/ws?close=1000");
    const done = closed(ws);
    ws.send("x");
    expect(await done).toEqual({ code: 1000, reason: "closed by echo" });
  });

  it("answers an extended CONNECT to another path with 404", async () => {
    await expect(wsOverH2(session, echo.port, "/nope")).rejects.toThrow(/404/);
  });
});
