import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { sleep, waitUntil } from "../../../lib/wait.js";
import { h2 } from "../../../test-support/h2.js";
import { raw, request, wholeResponse } from "../../../test-support/http.js";
import { localAddress } from "../../http/request_headers.js";
import { type TestProxy, useProxyFixture } from "./helpers.js";

/** A response head without its `date` line (the only value that moves). */
function withoutDate(text: string): string {
  return text.replace(/date: [^\r]*\r\n/, "");
}

const fx = useProxyFixture();
const setup = (hcmExtra = "", handler?: http.RequestListener): Promise<TestProxy> =>
  fx.start({ hcmExtra, handler });
/** Envoy's 1 s delayed close (the other tests' proxies close after 50 ms: see helpers.ts). */
const setupEnvoyDefaults = (handler?: http.RequestListener): Promise<TestProxy> =>
  setup("delayed_close_timeout: 1s", handler);

describe("codec selection", () => {
  it("auto serves HTTP/1.1 and h2c prior knowledge on one port", async () => {
    const p = await setup();
    expect((await request(p.port, "/")).status).toBe(200);
    expect((await h2(p.port, "/")).status).toBe(200);
    expect(p.stat("http.ingress.downstream_cx_http1_total")).toBe(1);
    expect(p.stat("http.ingress.downstream_cx_http2_total")).toBe(1);
    expect(p.stat("http.ingress.downstream_rq_total")).toBe(2);
    expect(p.stat("http.ingress.downstream_rq_2xx")).toBe(2);
  });

  it("waits for a preface sent in pieces", async () => {
    const p = await setup();
    const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    // Half a preface, a pause, the rest plus an empty SETTINGS frame: the server answers with its SETTINGS.
    const socket = net.connect(p.port, "127.0.0.1");
    const got: Buffer[] = [];
    socket.on("data", (c: Buffer) => got.push(c));
    await new Promise((r) => socket.once("connect", r));
    socket.write(preface.slice(0, 10));
    await sleep(150);
    expect(got.length).toBe(0);
    socket.write(Buffer.concat([Buffer.from(preface.slice(10)), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
    await waitUntil("the proxy answers the whole preface", () => got.length > 0);
    // A SETTINGS frame: type 4 at offset 3.
    expect(Buffer.concat(got)[3]).toBe(4);
    socket.destroy();
    expect(p.stat("http.ingress.downstream_cx_http2_total")).toBe(1);
  });

  it("http1 codec does not speak h2c; http2 codec does not speak HTTP/1.1", async () => {
    let p = await setup("codec_type: HTTP1");
    expect((await request(p.port, "/")).status).toBe(200);
    await expect(h2(p.port, "/")).rejects.toThrow();
    await p.close();
    await fx.upstream?.close();
    p = await setup("codec_type: HTTP2");
    expect((await h2(p.port, "/")).status).toBe(200);
    await expect(request(p.port, "/")).rejects.toThrow();
  });
});

describe("HTTP/2 settings", () => {
  /** SETTINGS and the connection window an h2c client of the proxy sees. */
  async function announced(port: number) {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const settings = await new Promise<http2.Settings>((resolve) =>
        session.once("remoteSettings", resolve),
      );
      const stream = session.request({ ":path": "/" });
      stream.resume();
      await new Promise((resolve) => stream.once("end", resolve));
      return {
        stream: settings.initialWindowSize,
        streams: settings.maxConcurrentStreams,
        window: session.state.remoteWindowSize,
      };
    } finally {
      session.close();
    }
  }

  it("announces Envoy 1.40's defaults: 16 MiB stream window, 24 MiB connection window, 1024 streams", async () => {
    const p = await setup();
    expect(await announced(p.port)).toEqual({
      stream: 16 * 1024 * 1024,
      streams: 1024,
      window: 24 * 1024 * 1024,
    });
  });

  it("announces the configured http2_protocol_options", async () => {
    const p = await setup(
      "http2_protocol_options: { max_concurrent_streams: 9, initial_stream_window_size: 131072, initial_connection_window_size: 262144 }",
    );
    expect(await announced(p.port)).toEqual({ stream: 131072, streams: 9, window: 262144 });
  });
});

describe("codec errors and versions", () => {
  it("HTTP/1.0 gets 426 Upgrade Required and the connection closes (Envoy 1.40's bytes)", async () => {
    const p = await setup();
    const { text } = await raw(p.port, "GET / HTTP/1.0\r\nHost: a\r\n\r\n");
    expect(withoutDate(text)).toBe(
      "HTTP/1.1 426 Upgrade Required\r\ncontent-length: 16\r\ncontent-type: text/plain\r\n" +
        "server: envoy\r\nconnection: close\r\n\r\nUpgrade Required",
    );
    expect(fx.upstream?.requests.length).toBe(0);
  });

  it("HTTP/1.1 without Host gets 400 and the connection closes (Envoy 1.40's bytes)", async () => {
    const p = await setup();
    const { text, closedByPeer } = await raw(p.port, "GET / HTTP/1.1\r\nUser-Agent: x\r\n\r\n");
    expect(withoutDate(text)).toBe(
      "HTTP/1.1 400 Bad Request\r\nserver: envoy\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
    );
    expect(closedByPeer).toBe(true);
    expect(fx.upstream?.requests.length).toBe(0);
    await p.logged();
    expect(p.entries[0]?.responseCodeDetails).toBe("missing_host_header");
  });

  it("more than 100 headers get 431 (Envoy's max_headers_count); 100 pass", async () => {
    const p = await setup();
    const many = (n: number) =>
      `GET / HTTP/1.1\r\nHost: a\r\n${Array.from({ length: n - 1 }, (_, i) => `x-h${i}: v\r\n`).join("")}\r\n`;
    const { text } = await raw(p.port, many(101));
    expect(withoutDate(text)).toBe(
      "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 31\r\ncontent-type: text/plain\r\n" +
        "server: envoy\r\nconnection: close\r\n\r\nRequest Header Fields Too Large",
    );
    expect(fx.upstream?.requests.length).toBe(0);
    const ok = await raw(p.port, many(100), { until: (t) => t.includes("\r\n\r\n") });
    expect(ok.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  });

  it("Transfer-Encoding other than chunked gets 501 before routing (Envoy 1.40's bytes)", async () => {
    const p = await setup();
    const { text } = await raw(p.port, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabc");
    expect(withoutDate(text)).toBe(
      "HTTP/1.1 501 Not Implemented\r\ncontent-length: 15\r\ncontent-type: text/plain\r\n" +
        "server: envoy\r\nconnection: close\r\n\r\nNot Implemented",
    );
    expect(fx.upstream?.requests.length).toBe(0);
  });

  it("an absolute-form target is routed on its path, its host the authority", async () => {
    const p = await setup();
    const r = await raw(p.port, "GET http://example.com/abs?q=1 HTTP/1.1\r\nHost: other\r\n\r\n", {
      until: wholeResponse,
    });
    expect(r.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(fx.upstream?.requests[0]?.url).toBe("/abs?q=1");
    expect(fx.upstream?.requests[0]?.headers.host).toBe("example.com");
  });

  it("HTTP/1.0 is served with accept_http_10, default host applied", async () => {
    const p = await setup(
      "http_protocol_options: { accept_http_10: true, default_host_for_http_10: legacy.local }",
    );
    const { text } = await raw(p.port, "GET /old HTTP/1.0\r\n\r\n");
    expect(text).toMatch(/^HTTP\/1\.[01] 200 /);
    expect(fx.upstream?.requests[0]?.headers.host).toBe("legacy.local");
  });

  it("headers over max_request_headers_kb get 431", async () => {
    const p = await setup("max_request_headers_kb: 2");
    const { text } = await raw(p.port, `GET / HTTP/1.1\r\nHost: a\r\nx-big: ${"a".repeat(4000)}\r\n\r\n`);
    expect(text).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(text.endsWith("\r\n\r\nRequest Header Fields Too Large")).toBe(true);
  });

  it("a malformed request gets 400 Bad Request and the connection closes", async () => {
    const p = await setup();
    const { text, closedByPeer } = await raw(p.port, "GARBAGE\r\n\r\n");
    expect(closedByPeer).toBe(true);
    expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(text).toMatch(/content-type: text\/plain\r\n/);
    expect(text.endsWith("\r\n\r\nBad Request")).toBe(true);
    expect(p.stat("http.ingress.downstream_cx_protocol_error")).toBe(1);
  });

  it("an Upgrade: h2c request is served as plain HTTP/1.1", async () => {
    const p = await setup();
    const { text } = await raw(
      p.port,
      "GET /h2c HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
      { until: (received) => received.endsWith("\r\n0\r\n\r\n") }, // the last chunk of the response
    );
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    const body = JSON.parse(text.slice(text.indexOf("{"), text.lastIndexOf("}") + 1));
    expect(body.url).toBe("/h2c");
    expect(body.headers.upgrade).toBeUndefined();
    expect(body.headers["http2-settings"]).toBeUndefined();
    void p;
  });
});

describe("Envoy request and response headers", () => {
  it("adds x-request-id, x-forwarded-proto, expected timeout; sets server and service time", async () => {
    const p = await setup();
    const r = await request(p.port, "/", { headers: { "x-forwarded-for": "1.2.3.4" } });
    const seen = JSON.parse(r.text).headers;
    expect(seen["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen["x-forwarded-proto"]).toBe("http");
    expect(seen["x-forwarded-for"]).toBe("1.2.3.4"); // use_remote_address false: untouched
    expect(seen["x-envoy-expected-rq-timeout-ms"]).toBe("15000");
    expect(r.headers.server).toBe("envoy");
    expect(r.headers["x-envoy-upstream-service-time"]).toMatch(/^\d+$/);
    expect(r.headers.date).toBeDefined();
    expect(r.headers["x-request-id"]).toBeUndefined();
  });

  it("keeps a client's x-request-id; server_name overrides", async () => {
    const p = await setup("server_name: echomesh");
    const r = await request(p.port, "/", { headers: { "x-request-id": "abc" } });
    expect(JSON.parse(r.text).headers["x-request-id"]).toBe("abc");
    expect(r.headers.server).toBe("echomesh");
  });

  it("use_remote_address appends the peer to x-forwarded-for and strips x-envoy-* control headers", async () => {
    const p = await setup("use_remote_address: true");
    const r = await request(p.port, "/", {
      headers: {
        "x-forwarded-for": "1.2.3.4",
        "x-forwarded-proto": "https",
        "x-envoy-retry-on": "5xx",
        "x-envoy-upstream-rq-timeout-ms": "1",
        "x-request-id": "spoofed",
      },
    });
    const seen = JSON.parse(r.text).headers;
    // A client at 127.0.0.1 is appended as Envoy's local address, comma without space.
    expect(seen["x-forwarded-for"]).toBe(`1.2.3.4,${localAddress()}`);
    expect(seen["x-forwarded-proto"]).toBe("http");
    expect(seen["x-envoy-retry-on"]).toBeUndefined();
    expect(seen["x-envoy-upstream-rq-timeout-ms"]).toBeUndefined();
    expect(seen["x-envoy-external-address"]).toBe("127.0.0.1");
    expect(seen["x-request-id"]).not.toBe("spoofed");
  });

  it("v3: a loopback client is external (Envoy 1.40 trusts no address by default)", async () => {
    const p = await setup("use_remote_address: true");
    const seen = JSON.parse((await request(p.port, "/")).text).headers;
    expect(seen["x-forwarded-for"]).toBe(localAddress());
    expect(seen["x-envoy-internal"]).toBeUndefined();
    expect(seen["x-envoy-external-address"]).toBe("127.0.0.1");
  });

  it("strips hop-by-hop headers as Envoy 1.40, lower-cases names, keeps order, repeats and te: trailers", async () => {
    const p = await setup();
    const r = await request(p.port, "/", {
      headers: [
        // Node's client adds no Host with a header list; Envoy would answer 400 without one.
        "Host",
        "a",
        "X-First",
        "1",
        "Connection",
        "keep-alive, X-Drop",
        "X-Drop",
        "x",
        "Keep-Alive",
        "5",
        "TE",
        "gzip, trailers",
        "X-Multi",
        "a",
        "X-Multi",
        "b",
        "Proxy-Authorization",
        "p",
      ],
    });
    const seen = JSON.parse(r.text);
    expect(seen.headers["x-drop"]).toBeUndefined();
    expect(seen.headers["keep-alive"]).toBeUndefined();
    expect(seen.headers.te).toBe("trailers");
    // Envoy forwards these (measured).
    expect(seen.headers["proxy-authorization"]).toBe("p");
    const names: string[] = seen.rawHeaders.filter((_: string, i: number) => i % 2 === 0);
    expect(names.indexOf("x-first")).toBeLessThan(names.indexOf("x-multi"));
    expect(seen.rawHeaders.filter((h: string) => h === "x-multi").length).toBe(2);
  });

  it("passes multi-value response headers; an HTTP/1.1 upstream's trailers are dropped (Envoy's codec)", async () => {
    const p = await setup("", (_req, res) => {
      res.writeHead(200, [
        "Set-Cookie",
        "a=1",
        "Set-Cookie",
        "b=2",
        "Trailer",
        "x-checksum",
        "Server",
        "upstream",
      ]);
      res.write("part");
      res.addTrailers({ "x-checksum": "abc" });
      res.end();
    });
    const a = await request(p.port, "/");
    expect(a.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    expect(a.headers.server).toBe("envoy");
    expect(a.headers.trailer).toBe("x-checksum");
    expect(a.trailers["x-checksum"]).toBeUndefined();
    expect(a.text).toBe("part");
    const b = await h2(p.port, "/");
    expect(b.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    expect(b.trailers["x-checksum"]).toBeUndefined();
  });

  it("h2 cookies are joined for an HTTP/1.1 upstream; :authority becomes Host", async () => {
    const p = await setup();
    const r = await h2(p.port, "/", { headers: { cookie: ["a=1", "b=2"], ":authority": "svc.local:81" } });
    const seen = JSON.parse(r.text).headers;
    expect(seen.cookie).toBe("a=1; b=2");
    expect(seen.host).toBe("svc.local:81");
  });
});

describe("access log entries and drain", () => {
  it("reports each finished stream", async () => {
    const p = await setup();
    await request(p.port, "/a?b", { headers: { "user-agent": "t" } });
    await p.logged();
    const e = p.entries[0];
    expect(e?.method).toBe("GET");
    expect(e?.path).toBe("/a?b");
    expect(e?.protocol).toBe("HTTP/1.1");
    expect(e?.responseCode).toBe(200);
    expect(e?.upstreamHost).toBe(`127.0.0.1:${fx.upstream?.port}`);
    expect(e?.upstreamCluster).toBe("backend");
    expect(e?.responseFlags).toEqual([]);
    expect(e?.bytesSent).toBeGreaterThan(0);
  });

  it("drain closes HTTP/1.1 keep-alive connections after their response and refuses new ones", async () => {
    let release: (() => void) | null = null;
    const p = await setup("", (_req, res) => {
      release = () => res.end("late");
    });
    const agent = new http.Agent({ keepAlive: true });
    const pending = new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: "127.0.0.1", port: p.port, agent }, resolve).on("error", reject);
    });
    await waitUntil("the upstream has the request", () => release !== null);
    const drained = p.server.drain(5000);
    (release as unknown as () => void)();
    const res = await pending;
    expect(res.headers.connection).toBe("close");
    res.resume();
    await drained;
    agent.destroy();
    await expect(request(p.port, "/")).rejects.toThrow();
  });
});

describe("Envoy's delayed close and its counters (as measured on Envoy 1.40)", () => {
  const stat = (p: TestProxy, name: string) => p.stat(`http.ingress.${name}`);

  it("a local reply that ends the connection waits for the client to close first", async () => {
    const p = await setupEnvoyDefaults();
    const started = Date.now();
    const { text, closedByPeer } = await raw(p.port, "GET / HTTP/1.1\r\nUser-Agent: x\r\n\r\n", {
      endAfterMs: 300,
    });
    expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(closedByPeer).toBe(true);
    // Closed after the client's FIN (300 ms), well before delayed_close_timeout (1 s).
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(900);
    await waitUntil("the close is counted", () => stat(p, "downstream_cx_destroy") === 1);
    expect(stat(p, "downstream_cx_destroy_remote")).toBe(1);
    expect(stat(p, "downstream_cx_destroy_local")).toBe(0);
  });

  it("closes after delayed_close_timeout (1 s) when the client stays", async () => {
    const p = await setupEnvoyDefaults();
    const started = Date.now();
    const { closedByPeer } = await raw(p.port, "GARBAGE\r\n\r\n", { withinMs: 3000 });
    expect(closedByPeer).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    await waitUntil("the close is counted", () => stat(p, "downstream_cx_destroy") === 1);
    expect(stat(p, "downstream_cx_destroy_local")).toBe(1);
    expect(stat(p, "downstream_cx_destroy_remote")).toBe(0);
  });

  it.each([
    ["0.3s", 290, 900],
    ["0s", 0, 250],
  ])("applies a configured delayed_close_timeout: %s", async (value, atLeastMs, belowMs) => {
    const p = await setup(`delayed_close_timeout: ${value}`);
    const started = Date.now();
    const { text, closedByPeer } = await raw(p.port, "GARBAGE\r\n\r\n", { withinMs: 3000 });
    expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(closedByPeer).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(atLeastMs);
    expect(Date.now() - started).toBeLessThan(belowMs);
  });

  it("a plain connection: close response closes at once", async () => {
    const p = await setupEnvoyDefaults();
    const started = Date.now();
    const { text, closedByPeer } = await raw(
      p.port,
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(closedByPeer).toBe(true);
    expect(Date.now() - started).toBeLessThan(500);
    await waitUntil("the close is counted", () => stat(p, "downstream_cx_destroy") === 1);
    expect(stat(p, "downstream_cx_destroy_local")).toBe(1);
  });

  it("a request the codec rejects counts as a request answered before it was complete", async () => {
    const p = await setupEnvoyDefaults();
    await raw(p.port, "GARBAGE\r\n\r\n", { endAfterMs: 100 });
    await waitUntil("the close is counted", () => stat(p, "downstream_cx_destroy") === 1);
    expect(stat(p, "downstream_rq_total")).toBe(1);
    expect(stat(p, "downstream_rq_http1_total")).toBe(1);
    expect(stat(p, "downstream_rq_response_before_rq_complete")).toBe(1);
    expect(stat(p, "downstream_rq_rx_reset")).toBe(1);
    expect(stat(p, "downstream_cx_protocol_error")).toBe(1);
  });

  it("426 to HTTP/1.0 and 501 to an unknown transfer-encoding are protocol errors, answered early", async () => {
    const p = await setupEnvoyDefaults();
    await raw(p.port, "GET / HTTP/1.0\r\nHost: a\r\n\r\n", { endAfterMs: 100 });
    await raw(p.port, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabc", {
      endAfterMs: 100,
    });
    await waitUntil("both closes are counted", () => stat(p, "downstream_cx_destroy") === 2);
    expect(stat(p, "downstream_cx_protocol_error")).toBe(2);
    expect(stat(p, "downstream_rq_response_before_rq_complete")).toBe(2);
    expect(stat(p, "downstream_rq_rx_reset")).toBe(2);
  });

  it("a complete request answered normally counts none of those", async () => {
    const p = await setupEnvoyDefaults();
    await raw(p.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", { endAfterMs: 100 });
    await waitUntil("the close is counted", () => stat(p, "downstream_cx_destroy") === 1);
    expect(stat(p, "downstream_rq_response_before_rq_complete")).toBe(0);
    expect(stat(p, "downstream_rq_rx_reset")).toBe(0);
    expect(stat(p, "downstream_cx_destroy_remote")).toBe(1);
    expect(stat(p, "downstream_cx_destroy_active_rq")).toBe(0);
  });

  it("the 100 Continue counts as a 1xx response and a completion", async () => {
    const p = await setupEnvoyDefaults();
    const { text } = await raw(
      p.port,
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc",
      { until: (t) => t.endsWith("\r\n0\r\n\r\n") }, // the last chunk of the echo's response
    );
    expect(text).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    expect(stat(p, "downstream_rq_1xx")).toBe(1);
    expect(stat(p, "downstream_rq_2xx")).toBe(1);
    expect(stat(p, "downstream_rq_completed")).toBe(2);
  });

  it("a client that goes away mid-request closes with an active request", async () => {
    const p = await setupEnvoyDefaults(() => {
      // Never answers.
    });
    await raw(p.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", { endAfterMs: 200 });
    await waitUntil("the close is counted", () => stat(p, "downstream_cx_destroy") === 1);
    expect(stat(p, "downstream_cx_destroy_remote")).toBe(1);
    expect(stat(p, "downstream_cx_destroy_active_rq")).toBe(1);
    expect(stat(p, "downstream_cx_destroy_remote_active_rq")).toBe(1);
    expect(stat(p, "downstream_rq_rx_reset")).toBe(1);
  });

  it("an h2c client's GOAWAY makes the close remote", async () => {
    const p = await setupEnvoyDefaults();
    expect((await h2(p.port, "/")).status).toBe(200);
    await waitUntil("the close is counted", () => stat(p, "downstream_cx_destroy") === 1);
    expect(stat(p, "downstream_cx_destroy_remote")).toBe(1);
    expect(stat(p, "downstream_cx_destroy_local")).toBe(0);
  });
});
