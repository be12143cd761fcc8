import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { raw, request } from "../../test-support/http.js";
import type { EchoServer } from "../server.js";
import { start } from "./helpers.js";

let echo: EchoServer;
beforeAll(async () => {
  echo = await start();
});
afterAll(() => echo.close());

function body(response: string): string {
  return response.slice(response.indexOf("\r\n\r\n") + 4);
}

describe("GET / and /hello (zcong text view)", () => {
  it("lists every header exactly as received: case, order, repeats, Host", async () => {
    const { text: res } = await raw(
      echo.port,
      "GET / HTTP/1.1\r\nHost: example.test\r\nX-Request-ID: abc\r\nx-dup: one\r\nX-DUP: two\r\n" +
        "Accept: */*\r\nConnection: close\r\n\r\n",
    );
    expect(res).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(res).toMatch(/\r\ncontent-type: text\/plain; charset=utf-8\r\n/i);
    expect(body(res)).toBe(
      "Host:[example.test]\nX-Request-ID:[abc]\nx-dup:[one]\nX-DUP:[two]\nAccept:[*/*]\nConnection:[close]\n",
    );
  });

  it("serves /hello the same way and carries identity headers", async () => {
    const r = await request(echo.port, "/hello?x=1", { headers: { "X-One": "1" } });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toContain("X-One:[1]\n");
    expect(r.headers["x-echo-instance"]).toBe("test-echo");
    expect(r.headers["x-echo-protocol"]).toBe("HTTP/1.1");
    expect(r.headers["x-echo-path"]).toBe("/hello?x=1");
  });

  it("reports HTTP/1.0 honestly", async () => {
    const { text: res } = await raw(echo.port, "GET / HTTP/1.0\r\nHost: a\r\n\r\n");
    expect(res).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(res).toMatch(/x-echo-protocol: HTTP\/1\.0\r\n/);
  });

  it("has no ip: line by default", async () => {
    const r = await request(echo.port, "/");
    expect(r.body.toString()).not.toMatch(/^ip: /m);
  });

  it("HEAD answers like GET without a body", async () => {
    const r = await request(echo.port, "/", { method: "HEAD" });
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(0);
    expect(Number(r.headers["content-length"])).toBeGreaterThan(0);
  });
});

describe("JSON view", () => {
  it("answers Accept: application/json with an echo-basic superset", async () => {
    const { text: r } = await raw(
      echo.port,
      "GET /hello?a=b HTTP/1.1\r\nHost: svc.test:8080\r\nAccept: application/json\r\nX-Multi: 1\r\nx-multi: 2\r\nConnection: close\r\n\r\n",
    );
    expect(r).toMatch(/content-type: application\/json/i);
    const view = JSON.parse(body(r));
    expect(view).toMatchObject({
      path: "/hello?a=b",
      host: "svc.test:8080",
      method: "GET",
      proto: "HTTP/1.1",
      instance: "test-echo",
      httpPort: String(echo.port),
      namespace: "",
      pod: "",
      service: "",
      ingress: "",
      remoteAddress: "127.0.0.1",
    });
    expect(view.headers["X-Multi"]).toEqual(["1", "2"]);
    expect(view.headers.Accept).toEqual(["application/json"]);
    expect(view.rawHeaders).toEqual([
      ["Host", "svc.test:8080"],
      ["Accept", "application/json"],
      ["X-Multi", "1"],
      ["x-multi", "2"],
      ["Connection", "close"],
    ]);
    expect(typeof view.remotePort).toBe("number");
    expect(typeof view.hostname).toBe("string");
  });

  it("answers ?format=json", async () => {
    const r = await request(echo.port, "/?format=json");
    expect(r.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(r.body.toString()).path).toBe("/?format=json");
  });

  it("reports namespace/pod/service/ingress from config", async () => {
    const e = await start({ namespace: "ns1", pod: "pod-1", service: "svc", ingress: "ing" });
    try {
      const view = JSON.parse((await request(e.port, "/?format=json")).body.toString());
      expect(view).toMatchObject({ namespace: "ns1", pod: "pod-1", service: "svc", ingress: "ing" });
    } finally {
      await e.close();
    }
  });

  it("shows zcong's ip: line when showIp is on", async () => {
    const e = await start({ showIp: true });
    try {
      const text = (await request(e.port, "/")).body.toString();
      expect(text.endsWith("ip: 127.0.0.1\n")).toBe(true);
    } finally {
      await e.close();
    }
  });
});

describe("POST /echo", () => {
  it("returns the body byte for byte with the request's Content-Type", async () => {
    const payload = Buffer.from([0, 1, 2, 255, 254, 10, 13, 0x7b]);
    const r = await request(echo.port, "/echo", {
      method: "POST",
      headers: { "Content-Type": "application/x-custom" },
      body: payload,
    });
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/x-custom");
    expect(r.body.equals(payload)).toBe(true);
  });

  it("uses application/octet-stream without a Content-Type and handles chunked bodies", async () => {
    const { text: res } = await raw(
      echo.port,
      "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    );
    expect(res).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(res).toMatch(/content-type: application\/octet-stream/i);
    expect(body(res)).toBe("abcde");
  });

  it("echoes an empty body with 200", async () => {
    const r = await request(echo.port, "/echo", { method: "POST" });
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(0);
  });

  it("streams a large body back intact", async () => {
    const payload = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    const r = await request(echo.port, "/echo", { method: "POST", body: payload });
    expect(r.body.equals(payload)).toBe(true);
  });
});

describe("unknown routes, CORS, redirects, /ws without upgrade", () => {
  it("404 page not found with identity headers", async () => {
    for (const [method, path] of [
      ["GET", "/nope"],
      ["POST", "/"],
      ["GET", "/echo"],
      ["PUT", "/hello"],
    ] as const) {
      const r = await request(echo.port, path, { method });
      expect(r.status).toBe(404);
      expect(r.body.toString()).toBe("404 page not found");
      expect(r.headers["content-type"]).toBe("text/plain");
      expect(r.headers["x-echo-instance"]).toBe("test-echo");
      expect(r.headers["x-echo-path"]).toBe(path);
    }
  });

  it("adds Access-Control-Allow-Origin: * when the request has an Origin", async () => {
    const withOrigin = await request(echo.port, "/nope", { headers: { Origin: "http://x.test" } });
    expect(withOrigin.headers["access-control-allow-origin"]).toBe("*");
    expect(withOrigin.headers["access-control-expose-headers"]).toContain("x-echo-instance");
    const without = await request(echo.port, "/");
    expect(without.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("answers an OPTIONS preflight with Origin, and 404s one without", async () => {
    const r = await request(echo.port, "/echo", {
      method: "OPTIONS",
      headers: { Origin: "http://x.test", "Access-Control-Request-Method": "POST" },
    });
    expect(r.status).toBe(200);
    expect(r.headers["access-control-allow-origin"]).toBe("*");
    expect(r.headers["access-control-allow-methods"]).toBe("GET,POST,PUT,HEAD");
    expect(r.headers["access-control-allow-headers"]).toBe("Origin,Content-Length,Content-Type");
    expect(r.headers["access-control-max-age"]).toBe("43200");
    const asked = await request(echo.port, "/", {
      method: "OPTIONS",
      headers: { Origin: "http://x.test", "Access-Control-Request-Headers": "x-echo-status" },
    });
    expect(asked.headers["access-control-allow-headers"]).toBe("x-echo-status");
    const noOrigin = await request(echo.port, "/", { method: "OPTIONS" });
    expect(noOrigin.status).toBe(404);
  });

  it("redirects a trailing slash like gin", async () => {
    const r = await request(echo.port, "/hello/?q=1");
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe("/hello?q=1");
    const post = await request(echo.port, "/echo/", { method: "POST" });
    expect(post.status).toBe(307);
    expect(post.headers.location).toBe("/echo");
  });

  it("answers a plain GET /ws with 400 Bad Request and Sec-WebSocket-Version: 13", async () => {
    const r = await request(echo.port, "/ws");
    expect(r.status).toBe(400);
    expect(r.body.toString()).toBe("Bad Request\n");
    expect(r.headers["sec-websocket-version"]).toBe("13");
    expect(r.headers["x-echo-path"]).toBe("/ws");
  });

  it("answers a non-WebSocket Upgrade (curl --http2's h2c) as plain HTTP/1.1, keeping the connection", async () => {
    const first =
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n";
    const second = "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    const res = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(echo.port, "127.0.0.1");
      let text = "";
      socket.on("data", (c: Buffer) => {
        const wasEmpty = text === "";
        text += c.toString("latin1");
        if (wasEmpty) socket.write(second); // like curl: wait for the answer before the next request
      });
      socket.on("error", reject);
      socket.on("close", () => resolve(text));
      socket.write(first);
    });
    const responses = res.split(/(?=HTTP\/1\.1 )/);
    expect(responses).toHaveLength(2);
    expect(responses[0]).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(responses[0]).toContain("Upgrade:[h2c]\n");
    expect(responses[0]).toMatch(/x-echo-protocol: HTTP\/1\.1/);
    expect(responses[1]).toMatch(/x-echo-path: \/hello/);
  });

  it("answers POST /echo with Upgrade: h2c and a body (curl --http2 -d)", async () => {
    const { text: res } = await raw(
      echo.port,
      "POST /echo HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Length: 5\r\n\r\nhello",
    );
    expect(res).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(body(res)).toBe("hello");
  });

  it("serves pipelined requests sent in the first packet", async () => {
    const { text: res } = await raw(
      echo.port,
      "GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    expect(res.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(1);
    expect(res.match(/HTTP\/1\.1 404 Not Found/g)).toHaveLength(1);
  });
});
