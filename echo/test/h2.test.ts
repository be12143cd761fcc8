import type { ClientHttp2Session } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { h2, h2session } from "../../test-support/h2.js";
import { request } from "../../test-support/http.js";
import type { EchoServer } from "../server.js";
import { start } from "./helpers.js";

let echo: EchoServer;
let session: ClientHttp2Session;
beforeAll(async () => {
  echo = await start();
  session = await h2session(echo.port);
});
afterAll(async () => {
  session.close();
  await echo.close();
});

describe("h2c prior knowledge on the HTTP/1.1 port", () => {
  it("serves GET / over HTTP/2 and says so", async () => {
    const r = await h2(session, "/", { headers: { "x-first": "1", "x-dup": ["a", "b"] } });
    expect(r.status).toBe(200);
    expect(r.headers["x-echo-protocol"]).toBe("HTTP/2.0");
    expect(r.headers["x-echo-instance"]).toBe("test-echo");
    expect(r.headers["x-echo-path"]).toBe("/");
    const text = r.body.toString();
    expect(text).toContain("x-first:[1]\n");
    expect(text).toContain("x-dup:[a]\nx-dup:[b]\n");
    expect(text).not.toContain(":path"); // pseudo-headers are not headers
  });

  it("reports proto HTTP/2.0 and :authority as host in the JSON view", async () => {
    const r = await h2(session, "/hello?format=json", { headers: { ":authority": "h2.test" } });
    const view = JSON.parse(r.body.toString());
    expect(view.proto).toBe("HTTP/2.0");
    expect(view.host).toBe("h2.test");
    expect(view.method).toBe("GET");
    expect(view.path).toBe("/hello?format=json");
    expect(view.rawHeaders.some(([n]: [string]) => n.startsWith(":"))).toBe(false);
  });

  it("echoes a POST body over HTTP/2 with and without content-length", async () => {
    const payload = Buffer.from("h2 body \u00ff", "utf8");
    const a = await h2(session, "/echo", {
      method: "POST",
      headers: { "content-type": "text/x-a", "content-length": String(payload.length) },
      body: payload,
    });
    expect(a.status).toBe(200);
    expect(a.headers["content-type"]).toBe("text/x-a");
    expect(a.body.equals(payload)).toBe(true);
    const b = await h2(session, "/echo", { method: "POST", body: payload });
    expect(b.headers["content-type"]).toBe("application/octet-stream");
    expect(b.body.equals(payload)).toBe(true);
  });

  it("404s unknown routes with identity headers", async () => {
    const r = await h2(session, "/missing");
    expect(r.status).toBe(404);
    expect(r.body.toString()).toBe("404 page not found");
    expect(r.headers["x-echo-protocol"]).toBe("HTTP/2.0");
    expect(r.headers["x-echo-path"]).toBe("/missing");
  });

  it("handles many concurrent streams on one session", async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => h2(session, `/hello?i=${i}`)));
    results.forEach((r, i) => {
      expect(r.headers["x-echo-path"]).toBe(`/hello?i=${i}`);
    });
  });

  it("keeps HTTP/1.1 working on the same port", async () => {
    const r = await request(echo.port, "/");
    expect(r.headers["x-echo-protocol"]).toBe("HTTP/1.1");
  });
});
