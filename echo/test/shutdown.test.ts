/** Graceful close() of an in-process echo: drain, WebSocket 1001, GOAWAY, the drain deadline. */
import net from "node:net";
import { describe, expect, it } from "vitest";
import { accepts } from "../../lib/net.js";
import { sleep } from "../../lib/wait.js";
import { h2, h2session } from "../../test-support/h2.js";
import { request } from "../../test-support/http.js";
import { closed, wsConnect, wsOverH2 } from "../../test-support/ws.js";
import { start } from "./helpers.js";

describe("graceful close() in process", () => {
  it("finishes in-flight requests, closes WebSockets with 1001, sends GOAWAY, refuses new connections", async () => {
    const echo = await start({ drainTimeoutMs: 5000 });
    const { ws } = await wsConnect(echo.port);
    const session = await h2session(echo.port);
    const h2ws = await wsOverH2(session);
    const goaway = new Promise<void>((resolve) => session.once("goaway", () => resolve()));
    const wsClosed = closed(ws);
    const h2wsClosed = closed(h2ws.ws);
    const inFlight = request(echo.port, "/?echo_delay=400ms");
    const inFlightH2 = h2(session, "/hello?echo_delay=300ms");
    await sleep(100);

    const t0 = performance.now();
    const closing = echo.close();
    const [r, r2, c1, c2] = await Promise.all([inFlight, inFlightH2, wsClosed, h2wsClosed, goaway]);
    expect(r.status).toBe(200);
    expect(r.headers.connection).toBe("close");
    expect(r2.status).toBe(200);
    expect(c1.code).toBe(1001);
    expect(c2.code).toBe(1001);
    session.close();
    await closing;
    expect(performance.now() - t0).toBeLessThan(4000); // done by draining, not by the deadline
    expect(await accepts(echo.port)).toBe(false);
  });

  it("cuts what is left at the drain timeout", async () => {
    const echo = await start({ drainTimeoutMs: 300 });
    const slow = request(echo.port, "/?echo_delay=5s").then(
      () => "answered",
      () => "cut",
    );
    await sleep(100);
    const t0 = performance.now();
    await echo.close();
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(await slow).toBe("cut");
  });

  it("closes idle keep-alive connections right away", async () => {
    const echo = await start({ drainTimeoutMs: 5000 });
    const socket = net.connect(echo.port, "127.0.0.1");
    await new Promise<void>((resolve) => {
      socket.once("data", () => resolve());
      socket.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    });
    const socketClosed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    const t0 = performance.now();
    await echo.close();
    await socketClosed;
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe("HTTP/2 sessions opened during drain", () => {
  it("get GOAWAY and the request still completes if it was already in flight", async () => {
    const echo = await start({ drainTimeoutMs: 2000 });
    const session = await h2session(echo.port);
    const pending = h2(session, "/?echo_delay=200ms");
    await sleep(50);
    const closing = echo.close();
    expect((await pending).status).toBe(200);
    session.close();
    await closing;
  });
});
