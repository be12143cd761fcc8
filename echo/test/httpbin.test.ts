/** httpbin and echo-basic habits: --anything, /status/NNN, ?delay=, X-Echo-Set-Header, --json. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { h2 } from "../../test-support/h2.js";
import { raw, request, wholeResponse } from "../../test-support/http.js";
import { nextMessage, wsConnect } from "../../test-support/ws.js";
import type { EchoServer } from "../server.js";
import { start } from "./helpers.js";

let zcong: EchoServer;
let bin: EchoServer;
let json: EchoServer;

beforeAll(async () => {
  zcong = await start();
  bin = await start({ anything: true, maxBodyBytes: 1024, maxDelayMs: 2000 });
  json = await start({ json: true });
});
afterAll(async () => {
  await Promise.all([zcong?.close(), bin?.close(), json?.close()]);
});

describe("the zcong contract stays the default", () => {
  it("answers 404 to /status/NNN and /anything, and ignores ?delay=", async () => {
    expect((await request(zcong.port, "/status/418")).status).toBe(404);
    expect((await request(zcong.port, "/anything", { method: "POST", body: "x" })).status).toBe(404);
    const t0 = performance.now();
    const r = await request(zcong.port, "/?delay=1s");
    expect(performance.now() - t0).toBeLessThan(500);
    expect(r.headers["content-type"]).toBe("text/plain; charset=utf-8");
  });
});

describe("X-Echo-Set-Header (echo-basic's alias of x-echo-header)", () => {
  it("sets each comma-separated Name: value pair, over HTTP/1.1 and HTTP/2", async () => {
    const headers = { "X-Echo-Set-Header": "X-Foo: one, X-Bar: two" };
    const r = await request(zcong.port, "/hello", { headers });
    expect(r.status).toBe(200);
    expect(r.headers["x-foo"]).toBe("one");
    expect(r.headers["x-bar"]).toBe("two");
    const r2 = await h2(zcong.port, "/", { headers: { "x-echo-set-header": "X-Foo: one" } });
    expect(r2.headers["x-foo"]).toBe("one");
  });

  it("refuses what x-echo-header refuses, naming the problem", async () => {
    const r = await request(zcong.port, "/", { headers: { "X-Echo-Set-Header": "Content-Length: 5" } });
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/cannot set Content-Length/);
  });
});

describe("--anything", () => {
  it("answers any method and path with the request as JSON, query and body included", async () => {
    const r = await request(bin.port, "/any/where?a=1&a=2&b=", {
      method: "PUT",
      headers: { "content-type": "application/json", "X-Mine": "m" },
      body: '{"name":"zcong"}',
    });
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/json");
    const view = JSON.parse(r.text);
    expect(view).toMatchObject({
      method: "PUT",
      path: "/any/where?a=1&a=2&b=",
      proto: "HTTP/1.1",
      args: { a: ["1", "2"], b: [""] },
      data: '{"name":"zcong"}',
      json: { name: "zcong" },
      instance: "test-echo",
    });
    expect(view.headers["X-Mine"]).toEqual(["m"]);
  });

  it("takes over /, /hello and POST /echo, and answers over HTTP/2", async () => {
    const root = JSON.parse((await request(bin.port, "/")).text);
    expect(root).toMatchObject({ method: "GET", path: "/", data: "", json: null, args: {} });
    // Keep-alive HTTP/1.1 POST /echo is the fast path's request: it must answer JSON too.
    const post = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nplain text";
    const fast = await raw(bin.port, post, { until: wholeResponse });
    expect(JSON.parse(fast.text.slice(fast.text.indexOf("\r\n\r\n") + 4))).toMatchObject({
      method: "POST",
      data: "plain text",
      json: null,
    });
    const r = await h2(bin.port, "/x", { method: "DELETE", body: "bye" });
    expect(JSON.parse(r.text)).toMatchObject({ method: "DELETE", proto: "HTTP/2.0", data: "bye" });
  });

  it("shows a body that is not UTF-8 as a base64 data URL, and refuses one over the limit", async () => {
    const r = await request(bin.port, "/bin", { method: "POST", body: Buffer.from([0xff, 0x00, 0xfe]) });
    expect(JSON.parse(r.text).data).toBe("data:application/octet-stream;base64,/wD+");
    const big = await request(bin.port, "/big", { method: "POST", body: "x".repeat(2000) });
    expect(big.status).toBe(413);
  });

  it("answers /status/NNN with NNN, and 400 to a status it cannot send", async () => {
    const teapot = await request(bin.port, "/status/418");
    expect(teapot.status).toBe(418);
    expect(teapot.text).toBe("418 I'm a Teapot\n");
    expect(teapot.headers["x-echo-instance"]).toBe("test-echo");
    const none = await request(bin.port, "/status/204", { method: "POST" });
    expect(none.status).toBe(204);
    expect(none.text).toBe("");
    expect((await h2(bin.port, "/status/503")).status).toBe(503);
    for (const path of ["/status/abc", "/status/99", "/status/600", "/status/"])
      expect((await request(bin.port, path)).status, path).toBe(400);
  });

  it("waits for ?delay= (httpbin's alias of echo_delay) and judges it like echo_delay", async () => {
    const t0 = performance.now();
    const r = await request(bin.port, "/slow?delay=300ms");
    expect(r.status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect((await request(bin.port, "/?delay=soon")).text).toMatch(/invalid echo_delay: soon/);
    expect((await request(bin.port, "/?delay=5s")).status).toBe(400); // over maxDelayMs
  });

  it("keeps the controls, the service's own endpoints and the WebSocket echo", async () => {
    const r = await request(bin.port, "/x?echo_status=503", {
      headers: { "x-echo-header": "Retry-After: 1" },
    });
    expect(r.status).toBe(503);
    expect(r.headers["retry-after"]).toBe("1");
    expect(JSON.parse(r.text).path).toBe("/x?echo_status=503");
    expect((await request(bin.port, "/_echo/health")).text).toBe("ok\n");
    expect((await request(bin.port, "/metrics")).text).toContain('echo_requests_total{route="anything"');
    const { ws } = await wsConnect(bin.port);
    ws.send("still echoing");
    expect((await nextMessage(ws)).data.toString()).toBe("still echoing");
    ws.close();
  });
});

describe("--json", () => {
  it("answers GET / and /hello with the JSON view, text when asked with ?format=text", async () => {
    // Keep-alive HTTP/1.1 GET / is the fast path's request: it must answer JSON too.
    const fast = await raw(json.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", { until: wholeResponse });
    expect(fast.text).toMatch(/content-type: application\/json/i);
    expect(JSON.parse(fast.text.slice(fast.text.indexOf("\r\n\r\n") + 4))).toMatchObject({
      method: "GET",
      path: "/",
    });
    expect(JSON.parse((await h2(json.port, "/hello")).text).proto).toBe("HTTP/2.0");
    const text = await request(json.port, "/hello?format=text", { headers: { "X-Mine": "m" } });
    expect(text.text).toContain("X-Mine:[m]\n");
    expect((await request(json.port, "/status/418")).status).toBe(404); // zcong routes otherwise
  });
});
