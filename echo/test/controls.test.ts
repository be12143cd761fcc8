import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { h2, h2session } from "../../test-support/h2.js";
import { raw, request, wholeResponse } from "../../test-support/http.js";
import type { EchoServer } from "../server.js";
import { start } from "./helpers.js";

let echo: EchoServer;
beforeAll(async () => {
  echo = await start({ maxDelayMs: 2000, maxResponseBytes: 1024 * 1024 });
});
afterAll(() => echo.close());

/** Resolves with the request's error (the exchange must fail), or rejects if a response came. */
function expectReset(
  port: number,
  path: string,
  headers: http.OutgoingHttpHeaders = {},
): Promise<NodeJS.ErrnoException> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, headers, agent: false }, (res) => {
      res.resume();
      reject(new Error(`got a response: ${res.statusCode}`));
    });
    req.on("error", resolve);
  });
}

describe("status, delay, size, header controls (query and header forms)", () => {
  it("echo_status / x-echo-status set the status and keep the route's body", async () => {
    const q = await request(echo.port, "/?echo_status=503");
    expect(q.status).toBe(503);
    expect(q.body.toString()).toContain("Host:[");
    const h = await request(echo.port, "/hello", { headers: { "x-echo-status": "418" } });
    expect(h.status).toBe(418);
    const nf = await request(echo.port, "/nowhere?echo_status=200");
    expect(nf.status).toBe(200);
    expect(nf.body.toString()).toBe("404 page not found");
    const post = await request(echo.port, "/echo?echo_status=201", { method: "POST", body: "abc" });
    expect(post.status).toBe(201);
    expect(post.body.toString()).toBe("abc");
  });

  it("the query wins over the header", async () => {
    const r = await request(echo.port, "/?echo_status=502", { headers: { "X-Echo-Status": "504" } });
    expect(r.status).toBe(502);
  });

  it("echo_delay waits before answering", async () => {
    const t0 = performance.now();
    const r = await request(echo.port, "/?echo_delay=300ms");
    expect(r.status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    const t1 = performance.now();
    await request(echo.port, "/", { headers: { "x-echo-delay": "0.2s" } });
    expect(performance.now() - t1).toBeGreaterThanOrEqual(190);
  });

  it("echo_size answers exactly N bytes", async () => {
    const r = await request(echo.port, "/?echo_size=100000");
    expect(r.body.length).toBe(100000);
    expect(Number(r.headers["content-length"])).toBe(100000);
    const k = await request(echo.port, "/echo", {
      method: "POST",
      body: "ignored",
      headers: { "x-echo-size": "1k" },
    });
    expect(k.body.length).toBe(1024);
    const zero = await request(echo.port, "/?echo_size=0");
    expect(zero.body.length).toBe(0);
  });

  it("echo_header adds response headers, repeatable, from query and header", async () => {
    const r = await request(
      echo.port,
      "/?echo_header=X-A:1&echo_header=Set-Cookie:a=1&echo_header=Set-Cookie:b=2",
    );
    expect(r.headers["x-a"]).toBe("1");
    expect(r.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    const h = await request(echo.port, "/", {
      headers: { "X-Echo-Header": "Cache-Control: no-store, max-age=0" },
    });
    expect(h.headers["cache-control"]).toBe("no-store, max-age=0");
    const ct = await request(echo.port, "/?echo_header=Content-Type:application/x-test");
    expect(ct.headers["content-type"]).toBe("application/x-test");
  });

  it("rejects bad control values with 400 and a message", async () => {
    for (const [path, text] of [
      ["/?echo_status=99", "echo_status"],
      ["/?echo_status=abc", "echo_status"],
      ["/?echo_delay=soon", "echo_delay"],
      ["/?echo_delay=5s", "limit"],
      ["/?echo_size=2MiB", "limit"],
      ["/?echo_header=nocolon", "echo_header"],
      ["/?echo_header=Content-Length:5", "Content-Length"],
      ["/?echo_header=x-echo-instance:fake", "x-echo-instance"],
    ] as const) {
      const r = await request(echo.port, path);
      expect(r.status, path).toBe(400);
      expect(r.body.toString(), path).toContain(text);
      expect(r.headers["x-echo-instance"]).toBe("test-echo");
    }
  });

  it("controls apply over HTTP/2 too", async () => {
    const r = await h2(echo.port, "/?echo_status=503&echo_size=10&echo_header=X-B:2", {
      headers: { "x-echo-delay": "50ms" },
    });
    expect(r.status).toBe(503);
    expect(r.body.length).toBe(10);
    expect(r.headers["x-b"]).toBe("2");
  });
});

/** The chunk sizes of a chunked HTTP/1.1 response held whole in `text` (latin1), last chunk (0) included. */
function chunkSizes(text: string): number[] {
  let at = text.indexOf("\r\n\r\n") + 4;
  const sizes: number[] = [];
  for (;;) {
    const eol = text.indexOf("\r\n", at);
    const size = Number.parseInt(text.slice(at, eol), 16);
    sizes.push(size);
    if (size === 0 || Number.isNaN(size)) return sizes;
    at = eol + 2 + size + 2;
  }
}

describe("echo_chunked", () => {
  const get = (path: string, headers = ""): string =>
    `GET ${path} HTTP/1.1\r\nHost: echo.test\r\n${headers}\r\n`;

  it("answers without content-length, in two chunks or more, on HTTP/1.1 (query and header forms)", async () => {
    for (const [request1, bodyLength] of [
      [get("/?echo_size=1000&echo_chunked=1"), 1000],
      [get("/?echo_size=100000", "x-echo-chunked: true\r\n"), 100000],
      [get("/hello?echo_chunked=1"), -1],
    ] as const) {
      const r = await raw(echo.port, request1, { until: wholeResponse });
      const head = r.text.slice(0, r.text.indexOf("\r\n\r\n")).toLowerCase();
      expect(head, request1).toContain("transfer-encoding: chunked");
      expect(head, request1).not.toContain("content-length");
      const sizes = chunkSizes(r.text);
      expect(sizes.at(-1), request1).toBe(0);
      expect(sizes.length, request1).toBeGreaterThanOrEqual(3);
      if (bodyLength >= 0)
        expect(
          sizes.reduce((a, b) => a + b, 0),
          request1,
        ).toBe(bodyLength);
    }
  });

  it("keeps the body and the connection: the same bytes as without it, then a second request", async () => {
    const plain = await request(echo.port, "/?echo_size=777");
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const chunked = await request(echo.port, "/?echo_size=777&echo_chunked=1", { agent });
      const again = await request(echo.port, "/hello", { agent });
      expect(chunked.body.equals(plain.body)).toBe(true);
      expect(chunked.headers["transfer-encoding"]).toBe("chunked");
      expect(again.status).toBe(200);
    } finally {
      agent.destroy();
    }
  });

  it("POST /echo sends the request body back chunked", async () => {
    const body = Buffer.from("0123456789".repeat(50));
    const r = await request(echo.port, "/echo?echo_chunked=1", { method: "POST", body });
    expect(r.headers["content-length"]).toBeUndefined();
    expect(r.headers["transfer-encoding"]).toBe("chunked");
    expect(r.body.equals(body)).toBe(true);
  });

  it("answers HTTP/2 without content-length; 0/false/off mean off", async () => {
    const r = await h2(echo.port, "/?echo_size=1000&echo_chunked=1");
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(1000);
    expect(r.headers["content-length"]).toBeUndefined();
    for (const off of ["0", "false", "off"]) {
      const plain = await request(echo.port, `/?echo_size=10&echo_chunked=${off}`);
      expect(plain.headers["content-length"], off).toBe("10");
    }
  });
});

describe("echo_reset", () => {
  it("resets the TCP connection on HTTP/1.1 (query and header)", async () => {
    const err = await expectReset(echo.port, "/?echo_reset=1");
    expect(err.code).toBe("ECONNRESET");
    const err2 = await expectReset(echo.port, "/hello", { "x-echo-reset": "true" });
    expect(err2.code).toBe("ECONNRESET");
  });

  it("resets after a delay", async () => {
    const t0 = performance.now();
    const err = await expectReset(echo.port, "/?echo_delay=200ms&echo_reset=1");
    expect(err.code).toBe("ECONNRESET");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
  });

  it("resets only the stream on HTTP/2; the session keeps working", async () => {
    const session = await h2session(echo.port);
    try {
      const err = await h2(session, "/?echo_reset=1").then(
        () => undefined,
        (e: NodeJS.ErrnoException) => e,
      );
      expect(err?.code).toBe("ERR_HTTP2_STREAM_ERROR");
      expect(err?.message).toContain("NGHTTP2_INTERNAL_ERROR");
      const ok = await h2(session, "/");
      expect(ok.status).toBe(200);
    } finally {
      session.close();
    }
  });
});

describe("fail the next N requests (runtime, per instance)", () => {
  it("fails N requests with S, then recovers; count=0 clears; GET shows the plan", async () => {
    const set = await request(echo.port, "/_echo/fail?count=2&status=503", { method: "POST" });
    expect(set.status).toBe(200);
    expect(JSON.parse(set.body.toString())).toEqual({ remaining: 2, status: 503 });
    expect((await request(echo.port, "/")).status).toBe(503);
    // admin routes are not counted
    expect((await request(echo.port, "/_echo/health")).status).toBe(200);
    const second = await request(echo.port, "/echo", { method: "POST", body: "x" });
    expect(second.status).toBe(503);
    expect(second.body.toString()).toContain("injected failure");
    expect((await request(echo.port, "/")).status).toBe(200);

    await request(echo.port, "/_echo/fail?count=5&status=500", { method: "POST" });
    expect((await request(echo.port, "/hello")).status).toBe(500);
    const state = await request(echo.port, "/_echo/fail");
    expect(JSON.parse(state.body.toString())).toEqual({ remaining: 4, status: 500 });
    await request(echo.port, "/_echo/fail?count=0", { method: "POST" });
    expect((await request(echo.port, "/hello")).status).toBe(200);
  });

  it("can fail by reset", async () => {
    await request(echo.port, "/_echo/fail?count=1&status=reset", { method: "POST" });
    const err = await expectReset(echo.port, "/");
    expect(err.code).toBe("ECONNRESET");
    expect((await request(echo.port, "/")).status).toBe(200);
  });

  it("rejects bad values", async () => {
    expect((await request(echo.port, "/_echo/fail?count=x", { method: "POST" })).status).toBe(400);
    expect((await request(echo.port, "/_echo/fail?count=1&status=99", { method: "POST" })).status).toBe(400);
  });

  it("is per instance", async () => {
    const other = await start({ instance: "other" });
    try {
      await request(echo.port, "/_echo/fail?count=1&status=502", { method: "POST" });
      expect((await request(other.port, "/")).status).toBe(200);
      expect((await request(echo.port, "/")).status).toBe(502);
    } finally {
      await other.close();
    }
  });
});

describe("health and metrics", () => {
  it("health switches to failing and back at runtime", async () => {
    const ok = await request(echo.port, "/_echo/health");
    expect(ok.status).toBe(200);
    expect(ok.body.toString()).toBe("ok\n");
    expect((await request(echo.port, "/_echo/health?status=fail", { method: "POST" })).status).toBe(503);
    const bad = await request(echo.port, "/_echo/health");
    expect(bad.status).toBe(503);
    expect(bad.body.toString()).toBe("fail\n");
    expect((await request(echo.port, "/")).status).toBe(200); // only the health endpoint fails
    expect((await request(echo.port, "/_echo/health?status=ok", { method: "POST" })).status).toBe(200);
    expect((await request(echo.port, "/_echo/health")).status).toBe(200);
    expect((await request(echo.port, "/_echo/health?status=maybe", { method: "POST" })).status).toBe(400);
  });

  it("exposes Prometheus metrics on /metrics and /_echo/metrics", async () => {
    const e = await start({ defaultMetrics: true });
    try {
      await request(e.port, "/");
      await request(e.port, "/");
      await request(e.port, "/nope");
      await request(e.port, "/?echo_status=503");
      await h2(e.port, "/hello");
      const m = await request(e.port, "/metrics");
      expect(m.status).toBe(200);
      expect(m.headers["content-type"]).toContain("text/plain");
      for (const line of [
        'echo_requests_total{route="/",status="200",protocol="HTTP/1.1"} 2',
        'echo_requests_total{route="not_found",status="404",protocol="HTTP/1.1"} 1',
        'echo_requests_total{route="/",status="503",protocol="HTTP/1.1"} 1',
        'echo_requests_total{route="/hello",status="200",protocol="HTTP/2.0"} 1',
        "# TYPE echo_websockets_open gauge",
        "process_resident_memory_bytes",
      ])
        expect(m.text).toContain(line);
      await request(e.port, "/");
      const alt = await request(e.port, "/_echo/metrics");
      // Counts keep growing across scrapes, and the first scrape is counted too.
      expect(alt.text).toContain('echo_requests_total{route="/",status="200",protocol="HTTP/1.1"} 3');
      expect(alt.text).toContain('echo_requests_total{route="/metrics",status="200",protocol="HTTP/1.1"} 1');
    } finally {
      await e.close();
    }
  });
});
