/**
 * The downstream HTTP/1.1 codec (proxy/http/h1_codec.ts): the head parser on its own, then through
 * a proxy: bodies split across reads, chunked bodies and trailers, malformed bodies, pipelining,
 * heads read in pieces.
 */
import net from "node:net";
import { describe, expect, it } from "vitest";
import { parseRequestHead } from "../../../lib/http1/request_parser.js";
import type { RequestHead } from "../../../lib/http1/types.js";
import { sleep, waitUntil } from "../../../lib/wait.js";
import { raw, wholeResponse } from "../../../test-support/http.js";
import { type TestProxy, useProxyFixture } from "./helpers.js";

const parse = (text: string, max = 100): RequestHead | string => parseRequestHead(text, max);
const head = (text: string): RequestHead => {
  const h = parse(text);
  if (typeof h === "string") throw new Error(`refused: ${h}`);
  return h;
};

describe("request head parser", () => {
  it("reads the request line, the headers as sent, the framing and the connection's fate", () => {
    const h = head("POST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\nX-Y:  v  w \r\nConnection: close");
    expect(h).toMatchObject({ method: "POST", target: "/a?b", http10: false, host: "x" });
    expect(h.rawHeaders).toEqual(["Host", "x", "Content-Length", "12", "X-Y", "v  w", "Connection", "close"]);
    expect(h).toMatchObject({ framing: "length", contentLength: 12, keepAlive: false, upgrade: null });
    expect(head("GET / HTTP/1.0\r\nconnection: keep-alive").keepAlive).toBe(true);
    expect(head("GET / HTTP/1.0").keepAlive).toBe(false);
    expect(head("GET / HTTP/1.1\r\ntransfer-encoding: gzip, chunked").framing).toBe("chunked");
    expect(head("GET / HTTP/1.1\r\ntransfer-encoding: chunked, gzip").framing).toBe("unknown");
    expect(head("GET / HTTP/1.1\r\ncontent-length: 0").framing).toBe("none");
    expect(head("GET / HTTP/1.1\r\nconnection: Upgrade\r\nupgrade: WebSocket").upgrade).toBe("websocket");
    expect(head("GET / HTTP/1.1\r\nupgrade: websocket").upgrade).toBeNull();
    expect(head("POST / HTTP/1.1\r\nexpect: 100-Continue").expectContinue).toBe(true);
    expect(head("GET / HTTP/1.1\r\nhost: a\r\nhost: a").host).toBeNull();
    expect(head("GET / HTTP/1.1\r\nx: caf\xe9").rawHeaders).toEqual(["x", "caf\xe9"]);
    // HTTP/0.9 (no version) is taken for HTTP/1.0, as Envoy's codec does.
    expect(head("GET /")).toMatchObject({ http10: true, target: "/", rawHeaders: [] });
  });

  it.each([
    ["no target", "GET"],
    ["two spaces", "GET  / HTTP/1.1"],
    ["unknown version", "GET / HTTP/1.2"],
    ["HTTP/2.0", "GET / HTTP/2.0"],
    ["a space in the target", "GET /a b HTTP/1.1"],
    ["a non-ASCII target", "GET /caf\xe9 HTTP/1.1"],
    ["a bad method", "G(T / HTTP/1.1"],
    ["obs-fold", "GET / HTTP/1.1\r\nx: a\r\n b"],
    ["space before the colon", "GET / HTTP/1.1\r\nx : a"],
    ["no colon", "GET / HTTP/1.1\r\nxa"],
    ["an empty name", "GET / HTTP/1.1\r\n: a"],
    ["a bad name", "GET / HTTP/1.1\r\nx(y: a"],
    ["NUL in a value", "GET / HTTP/1.1\r\nx: a\0b"],
    ["DEL in a value", "GET / HTTP/1.1\r\nx: a\x7fb"],
    ["a bare CR", "GET / HTTP/1.1\r\nx: a\rb"],
    ["a bare LF", "GET / HTTP/1.1\r\nx: a\nb: c"],
    ["two content-lengths", "GET / HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 1"],
    ["a content-length list", "GET / HTTP/1.1\r\ncontent-length: 1, 1"],
    ["a signed content-length", "GET / HTTP/1.1\r\ncontent-length: +1"],
    [
      "content-length and transfer-encoding",
      "GET / HTTP/1.1\r\ncontent-length: 1\r\ntransfer-encoding: chunked",
    ],
    ["chunked twice", "GET / HTTP/1.1\r\ntransfer-encoding: chunked, chunked"],
    ["HTTP/0.9 with headers", "GET /\r\nhost: a"],
  ])("refuses %s (400)", (_what, text) => {
    expect(parse(text)).toBe("bad_request");
  });

  // The set a running Envoy 1.40 accepts (its codec answers 400 to any other method): see methods.ts.
  it.each(["GET", "PURGE", "PROPFIND", "MKCALENDAR", "SOURCE", "UNSUBSCRIBE", "ACL"])(
    "accepts the method %s",
    (m) => {
      expect(head(`${m} / HTTP/1.1\r\nhost: a`).method).toBe(m);
    },
  );

  it.each(["get", "Get", "FOO", "M-SEARCH", "QUERY", "PRI", "BASELINE-CONTROL", "X!#$%&'*+.^_`|~"])(
    "refuses the method %j as Envoy 1.40 does (400)",
    (m) => {
      expect(parse(`${m} / HTTP/1.1\r\nhost: a`)).toBe("bad_request");
    },
  );

  it("refuses more than max_headers_count header lines (431), counting Host", () => {
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `\r\nx${i}: v`).join("");
    expect(typeof parse(`GET / HTTP/1.1${lines(5)}`, 5)).toBe("object");
    expect(parse(`GET / HTTP/1.1${lines(6)}`, 5)).toBe("too_many_headers");
  });
});

describe("through a proxy", () => {
  const fx = useProxyFixture();
  const setup = (hcmExtra = ""): Promise<TestProxy> => fx.start({ hcmExtra });

  /** Writes `parts` one after the other (`gapMs` apart) on one connection; resolves with all it got. */
  async function pieces(
    port: number,
    parts: (string | Buffer)[],
    gapMs: number,
    until: (t: string) => boolean,
  ) {
    const socket = net.connect(port, "127.0.0.1");
    let text = "";
    socket.on("data", (c: Buffer) => {
      text += c.toString("latin1");
    });
    socket.on("error", () => socket.destroy());
    await new Promise((r) => socket.once("connect", r));
    for (const p of parts) {
      socket.write(p);
      await sleep(gapMs);
    }
    await waitUntil("the answer", () => until(text), { withinMs: 3000 });
    socket.destroy();
    return text;
  }

  const bodyOf = (text: string) => JSON.parse(text.slice(text.indexOf("{"), text.lastIndexOf("}") + 1));

  it("a head and a body read in many small pieces arrive whole", async () => {
    const p = await setup();
    const request = "POST /split HTTP/1.1\r\nhost: a\r\ncontent-length: 11\r\n\r\nhello world";
    const text = await pieces(p.port, request.match(/.{1,3}/gs) ?? [], 5, (t) => t.endsWith("\r\n0\r\n\r\n"));
    expect(bodyOf(text)).toMatchObject({ url: "/split", body: "hello world" });
  });

  it("a chunked body with extensions and trailers reaches the upstream re-chunked", async () => {
    const p = await setup();
    const text = await pieces(
      p.port,
      [
        "POST /c HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhel",
        "lo\r\n6 \r\n world\r\n0\r\nx-t: 1\r\n\r\n",
      ],
      20,
      (t) => t.endsWith("\r\n0\r\n\r\n"),
    );
    expect(bodyOf(text).body).toBe("hello world");
    expect(fx.upstream?.requests[0]?.headers["transfer-encoding"]).toBe("chunked");
  });

  it("a malformed chunk after the request was routed: 400, the connection closes, the upstream request ends", async () => {
    const p = await setup();
    const { text, closedByPeer } = await raw(
      p.port,
      "POST /bad HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n",
    );
    expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(text).toMatch(/\r\nconnection: close\r\n/);
    expect(closedByPeer).toBe(true);
    expect(p.stat("http.ingress.downstream_cx_protocol_error")).toBe(1);
    await waitUntil("the stream is over", () => p.stat("http.ingress.downstream_rq_active") === 0);
  });

  it("pipelined requests with bodies are served one after the other, in order, each body whole", async () => {
    const p = await setup();
    const one = (i: number) => `POST /p${i} HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\n\r\nb${i}!`;
    const text = await pieces(
      p.port,
      [`${one(1)}\r\n${one(2)}${one(3)}`],
      0,
      (t) => t.split("\r\n0\r\n\r\n").length === 4,
    );
    const bodies = text
      .split("HTTP/1.1 200 OK")
      .slice(1)
      .map((r) => bodyOf(r));
    expect(bodies.map((b) => [b.url, b.body])).toEqual([
      ["/p1", "b1!"],
      ["/p2", "b2!"],
      ["/p3", "b3!"],
    ]);
  });

  it("a head longer than max_request_headers_kb gets 431 before its end arrives", async () => {
    const p = await setup("max_request_headers_kb: 1");
    const { text } = await raw(p.port, `GET / HTTP/1.1\r\nhost: a\r\nx: ${"a".repeat(2000)}`);
    expect(text).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  });

  it("a line feed without its carriage return is refused at once (400)", async () => {
    const p = await setup();
    const { text } = await raw(p.port, "GET / HTTP/1.1\nhost: a\n");
    expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  });

  it("a carriage return without its line feed is refused at once (400), not at the head timeout", async () => {
    const p = await setup();
    // Envoy 1.40 waits here for a LF that never comes; the head can never be valid, so ours answers now.
    const { text, closedByPeer } = await raw(p.port, "GET / HTTP/1.1\rhost: a\r\r", { withinMs: 1000 });
    expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(closedByPeer).toBe(true);
  });

  it("a CR as the last byte read is not refused: its LF may come in the next read", async () => {
    const p = await setup();
    const text = await pieces(p.port, ["GET / HTTP/1.1\r", "\nhost: a\r", "\n\r\n"], 30, (t) =>
      t.includes("\r\n\r\n"),
    );
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  });

  it("an unknown or lower-case method gets 400, as from Envoy 1.40; a registered extension method passes", async () => {
    const p = await setup();
    for (const method of ["get", "FOO"]) {
      const { text } = await raw(p.port, `${method} / HTTP/1.1\r\nhost: a\r\n\r\n`);
      expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    }
    const { text } = await raw(p.port, "PURGE / HTTP/1.1\r\nhost: a\r\n\r\n", { until: wholeResponse });
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  });

  it("a head that stays incomplete gets 408 `stream timeout` after stream_idle_timeout (Envoy 1.40)", async () => {
    const p = await setup("stream_idle_timeout: 0.2s");
    const { text } = await raw(p.port, "GET / HTTP/1.1\r\nhost: a\r\n", { withinMs: 2000 });
    expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(text.endsWith("\r\n\r\nstream timeout")).toBe(true);
    expect(p.stat("http.ingress.downstream_rq_idle_timeout")).toBe(1);
  });

  it("empty lines before a request line are skipped", async () => {
    const p = await setup();
    const { text } = await raw(p.port, "\r\n\r\nGET / HTTP/1.1\r\nhost: a\r\n\r\n", { until: wholeResponse });
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  });

  it("an accepted HTTP/1.0 request is answered with an HTTP/1.0 status line, as Envoy", async () => {
    const p = await setup("http_protocol_options: { accept_http_10: true }");
    const { text } = await raw(p.port, "GET / HTTP/1.0\r\nhost: a\r\n\r\n");
    expect(text).toMatch(/^HTTP\/1\.0 200 OK\r\n/);
    expect(text).toMatch(/\r\nconnection: close\r\n/);
  });
});
