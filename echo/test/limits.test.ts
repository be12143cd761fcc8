import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { h2, h2session } from "../../test-support/h2.js";
import { raw, request } from "../../test-support/http.js";
import type { EchoServer } from "../server.js";
import { start } from "./helpers.js";

const LIMIT = 64 * 1024;
let echo: EchoServer;
beforeAll(async () => {
  echo = await start({ maxBodyBytes: LIMIT, maxHeaderBytes: 8 * 1024 });
});
afterAll(() => echo.close());

describe("body limit", () => {
  it("answers 413 to a declared Content-Length over the limit and keeps the connection usable", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const big = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(
          { host: "127.0.0.1", port: echo.port, path: "/echo", method: "POST", agent },
          (res) => {
            let body = "";
            res.on("data", (c: Buffer) => {
              body += c.toString();
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on("error", reject);
        req.end(Buffer.alloc(LIMIT + 1));
      });
      expect(big.status).toBe(413);
      expect(big.body).toContain(String(LIMIT));
      const small = await new Promise<number>((resolve, reject) => {
        http
          .request({ host: "127.0.0.1", port: echo.port, path: "/echo", method: "POST", agent }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on("error", reject)
          .end("ok");
      });
      expect(small).toBe(200);
    } finally {
      agent.destroy();
    }
  });

  it("accepts a body of exactly the limit", async () => {
    const r = await request(echo.port, "/echo", { method: "POST", body: Buffer.alloc(LIMIT, 1) });
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(LIMIT);
  });

  it("answers 413 to a chunked body that grows over the limit", async () => {
    const chunk = Buffer.alloc(16 * 1024, 97);
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: "127.0.0.1", port: echo.port, path: "/echo", method: "POST", agent: false },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      for (let i = 0; i < 6; i++) req.write(chunk); // 96 KiB, no Content-Length: chunked
      req.end();
    });
    expect(status).toBe(413);
  });

  it("answers 413 over HTTP/2", async () => {
    const r = await h2(echo.port, "/echo", { method: "POST", body: Buffer.alloc(LIMIT + 10) });
    expect(r.status).toBe(413);
    expect(r.headers["x-echo-protocol"]).toBe("HTTP/2.0");
  });

  it("skips 100 Continue and answers 413 when Expect: 100-continue announces too much", async () => {
    const { text: res } = await raw(
      echo.port,
      `POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: ${LIMIT + 1}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
    );
    expect(res).toMatch(/^HTTP\/1\.1 413 /);
    expect(res).not.toContain("100 Continue");
  });

  it("sends 100 Continue for an acceptable body", async () => {
    const { text: res } = await raw(
      echo.port,
      "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nhi",
    );
    expect(res).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
    expect(res.endsWith("hi")).toBe(true);
  });
});

describe("bad input", () => {
  it("answers 431 to oversize headers", async () => {
    const { text: res } = await raw(
      echo.port,
      `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${"a".repeat(9000)}\r\n\r\n`,
    );
    expect(res).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(res).toMatch(/x-echo-instance: test-echo/);
  });

  it("answers 431 to an oversize HTTP/2 header list", async () => {
    const session = await h2session(echo.port);
    try {
      const r = await h2(session, "/", { headers: { "x-big": "a".repeat(9000) } });
      expect(r.status).toBe(431);
      expect(r.headers["x-echo-protocol"]).toBe("HTTP/2.0");
      expect((await h2(session, "/")).status).toBe(200);
    } finally {
      session.close();
    }
  });

  it("answers 400 to malformed HTTP", async () => {
    for (const junk of [
      "GARBAGE\r\n\r\n",
      "GET / HTTP/1.1\r\nBad Header Line\r\n\r\n",
      "GET / HTTP/9.9\r\n\r\n",
    ]) {
      const { text: res } = await raw(echo.port, junk);
      expect(res, JSON.stringify(junk)).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    }
  });

  it("survives a connection closed mid-request and a bogus HTTP/2 preface", async () => {
    await raw(echo.port, "GET / HTTP/1.1\r\nHost: a\r\nContent-Le", { endAfterMs: 50 });
    await raw(echo.port, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x09garbage!", { endAfterMs: 100 });
    await raw(echo.port, "PRI", { endAfterMs: 50 });
    const r = await request(echo.port, "/");
    expect(r.status).toBe(200);
  });
});
