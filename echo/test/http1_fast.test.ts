/**
 * The echo's HTTP/1.1 front (echo/http1.ts): GET / and POST /echo answered on our codec must be the
 * answers node:http gives (which serves a connection from its first other request on), pipelined
 * requests keep their order across the hand-over, bodies stream back intact, and the answers are
 * counted and logged like every other.
 */
import { createHash } from "node:crypto";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../../lib/wait.js";
import { raw, request } from "../../test-support/http.js";
import type { EchoServer } from "../server.js";
import { LogSink, start } from "./helpers.js";

let echo: EchoServer;
beforeAll(async () => {
  echo = await start();
});
afterAll(() => echo.close());

/** Splits pipelined responses (each with a content-length; `bodiless`: answers to HEAD), Date lines masked. */
function responses(text: string, bodiless: number[] = []): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < text.length) {
    const headEnd = text.indexOf("\r\n\r\n", at);
    if (headEnd < 0) break;
    const declared = Number(/\r\ncontent-length: (\d+)/i.exec(text.slice(at, headEnd))?.[1] ?? 0);
    const length = bodiless.includes(out.length) ? 0 : declared;
    const end = headEnd + 4 + length;
    out.push(text.slice(at, end).replace(/\r\nDate: [^\r]*/, "\r\nDate: -"));
    at = end;
  }
  return out;
}

const GET = "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: t/1\r\nX-Cafe: cr\xe8me\r\n\r\n";
const POST = "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Type: a/b\r\nContent-Length: 5\r\n\r\nhello";
const POST_UNTYPED = "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz";
/** node:http serves the connection from this request on (HEAD is not on the fast path). */
const HEAD = "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n";

describe("the HTTP/1.1 fast path", () => {
  it("answers GET / and POST /echo byte for byte as node:http does, pipelined, in order", async () => {
    const wire = GET + POST + POST_UNTYPED + HEAD + GET + POST + POST_UNTYPED;
    const { text } = await raw(echo.port, Buffer.from(wire, "latin1"), {
      until: (t) => responses(t, [3]).length === 7,
    });
    const all = responses(text, [3]);
    expect(all).toHaveLength(7);
    const [fastGet, fastPost, fastUntyped, head, slowGet, slowPost, slowUntyped] = all;
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(fastGet).toBe(slowGet);
    expect(fastPost).toBe(slowPost);
    expect(fastUntyped).toBe(slowUntyped);
    // Non-ASCII header bytes come back UTF-8 encoded, as node:http writes a string body.
    expect(fastGet).toContain("X-Cafe:[cr\xc3\xa8me]\n");
    expect(fastPost).toMatch(/\r\ncontent-type: a\/b\r\ncontent-length: 5\r\n[\s\S]*\r\n\r\nhello$/);
    expect(fastUntyped).toContain("\r\ncontent-type: application/octet-stream\r\n");
  });

  it("hands a connection over at a request with controls, keeping what was pipelined after it", async () => {
    const wire = `GET /?echo_status=201 HTTP/1.1\r\nHost: h\r\n\r\n${GET}${POST}`;
    const { text } = await raw(echo.port, Buffer.from(wire, "latin1"), {
      until: (t) => responses(t).length === 3,
    });
    const all = responses(text);
    expect(all.map((r) => r.slice(0, 12))).toEqual(["HTTP/1.1 201", "HTTP/1.1 200", "HTTP/1.1 200"]);
    expect(all[2]).toMatch(/hello$/);
  });

  it("streams a large body back intact through a slow reader", async () => {
    const body = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
    const socket = net.connect(echo.port, "127.0.0.1");
    socket.write(`POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body);
    const received: Buffer[] = [];
    let total = 0;
    socket.pause();
    // Read in small steps: the echo must wait for the reader (backpressure), not buffer or drop.
    const reader = setInterval(() => {
      for (let c = socket.read(); c !== null; c = socket.read()) {
        received.push(c);
        total += c.length;
      }
    }, 5);
    try {
      await waitUntil(
        "the whole body echoed",
        () => {
          const all = Buffer.concat(received);
          const headEnd = all.indexOf("\r\n\r\n");
          return headEnd >= 0 && total - headEnd - 4 >= body.length;
        },
        { withinMs: 20_000 },
      );
    } finally {
      clearInterval(reader);
      socket.destroy();
    }
    const all = Buffer.concat(received);
    const echoed = all.subarray(all.indexOf("\r\n\r\n") + 4);
    expect(all.toString("latin1", 0, 15)).toBe("HTTP/1.1 200 OK");
    expect(createHash("sha256").update(echoed).digest("hex")).toBe(
      createHash("sha256").update(body).digest("hex"),
    );
  });

  it("leaves to node:http what our strict grammar refuses and what it answers differently", async () => {
    // node:http takes a double space and an unknown HTTP version; it refuses a request without Host.
    const lenient = await raw(echo.port, "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", {
      until: (t) => responses(t).length === 1,
    });
    expect(lenient.text).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nHost:\[h\]\n$/);
    const v2 = await raw(echo.port, "GET / HTTP/2.0\r\nHost: h\r\n\r\n", {
      until: (t) => responses(t).length === 1,
    });
    expect(v2.text).toContain("\r\nx-echo-protocol: HTTP/2.0\r\n");
    const noHost = await raw(echo.port, "GET / HTTP/1.1\r\n\r\n");
    expect(noHost.text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  });

  it("answers a malformed head 400 with the echo's identity, then closes", async () => {
    const { text, closedByPeer } = await raw(echo.port, "GET / HTTP/1.1\r\nbad header\r\n\r\n");
    expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(text).toContain("\r\nx-echo-instance: test-echo\r\n");
    expect(closedByPeer).toBe(true);
  });

  it("counts fast answers in /metrics and writes their access log lines", async () => {
    const sink = new LogSink();
    const e = await start({ accessLog: true, logDestination: sink });
    try {
      await raw(e.port, GET + POST, { until: (t) => responses(t).length === 2 });
      const m = await request(e.port, "/metrics");
      expect(m.text).toContain('echo_requests_total{route="/",status="200",protocol="HTTP/1.1"} 1');
      expect(m.text).toContain('echo_requests_total{route="/echo",status="200",protocol="HTTP/1.1"} 1');
      await waitUntil("the access log line of POST /echo", () =>
        sink.lines.some((l) => l.includes('"route":"/echo"')),
      );
      const get = JSON.parse(sink.lines.find((l) => l.includes('"route":"/"')) ?? "{}");
      expect(get).toMatchObject({ method: "GET", path: "/", proto: "HTTP/1.1", status: 200, ua: "t/1" });
    } finally {
      await e.close();
    }
  });
});
