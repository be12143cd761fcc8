import { createHash } from "node:crypto";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { waitUntil } from "../../../lib/wait.js";
import { request } from "../../../test-support/http.js";
import { CATCH_ALL, useProxies } from "../http/helpers.js";

const { proxy: proxyFor, upstream: up, serve } = useProxies();

/**
 * The HTTP/1.1 hop writes what arrived in one loop iteration together (the request head with a body
 * that came whole, a response's chunks read together), but never holds back what is still coming.
 */
describe("HTTP/1.1 bodies through the router", () => {
  it("a request body that arrives whole reaches the upstream intact, framed by its content-length", async () => {
    const u = await up((req, res) => {
      const hash = createHash("sha256");
      let n = 0;
      req.on("data", (c: Buffer) => {
        hash.update(c);
        n += c.length;
      });
      req.on("end", () => res.end(`${n} ${hash.digest("hex")} ${req.headers["content-length"]}`));
    });
    const p = await proxyFor(CATCH_ALL, { backend: u.port });
    const body = Buffer.alloc(200 * 1024, 7);
    for (const size of [1, 1024, 64 * 1024, 200 * 1024]) {
      const part = body.subarray(0, size);
      const r = await request(p.port, "/echo", { method: "POST", body: part });
      expect(r.text).toBe(`${size} ${createHash("sha256").update(part).digest("hex")} ${size}`);
    }
  });

  it("a request body still coming is streamed: the upstream has its first bytes before the rest is sent", async () => {
    let received = "";
    const upstream = net.createServer((s) => {
      s.on("error", () => undefined);
      s.on("data", (d: Buffer) => {
        received += d.toString("latin1");
        if (received.endsWith("first|second")) s.end("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
      });
    });
    const u = await serve(upstream);
    const p = await proxyFor(CATCH_ALL, { backend: u.port });
    const client = net.connect(p.port, "127.0.0.1");
    let answer = "";
    client.on("data", (d: Buffer) => {
      answer += d.toString("latin1");
    });
    await new Promise((resolve) => client.once("connect", resolve));
    client.write("POST /up HTTP/1.1\r\nhost: x\r\ncontent-length: 12\r\n\r\nfirst|");
    await waitUntil("the upstream has the head and the first part", () => received.includes("first|"));
    expect(received).not.toContain("second");
    client.write("second");
    await waitUntil("the answer", () => answer.endsWith("ok"));
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    client.destroy();
  });

  it("a response body still coming is forwarded as it comes: the client has its first bytes before the rest is sent", async () => {
    let sendRest: (() => void) | null = null;
    const u = await up((_req, res) => {
      res.writeHead(200, { "content-length": "12" });
      res.write("first|");
      sendRest = () => res.end("second");
    });
    const p = await proxyFor(CATCH_ALL, { backend: u.port });
    const client = net.connect(p.port, "127.0.0.1");
    let answer = "";
    client.on("data", (d: Buffer) => {
      answer += d.toString("latin1");
    });
    await new Promise((resolve) => client.once("connect", resolve));
    client.write("GET /down HTTP/1.1\r\nhost: x\r\n\r\n");
    await waitUntil("the client has the head and the first part", () => answer.endsWith("first|"));
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(answer).toContain("\r\ncontent-length: 12\r\n");
    (sendRest as (() => void) | null)?.();
    await waitUntil("the rest", () => answer.endsWith("first|second"));
    client.destroy();
  });
});
