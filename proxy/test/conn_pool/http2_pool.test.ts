import { createHash } from "node:crypto";
import http2 from "node:http2";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../../lib/http2/frames.js";
import { createH2cServer } from "../../../lib/http2/server.js";
import { freePort } from "../../../lib/net.js";
import { waitUntil } from "../../../lib/wait.js";
import { connections } from "../../../test-support/servers.js";
import { abortAfterBody, header, send, usePools } from "./helpers.js";

const { makePool, serve } = usePools();

async function h2Server(settings: http2.Settings = {}) {
  const server = http2.createServer({ settings });
  const sessions = new Set<http2.ServerHttp2Session>();
  let sessionsTotal = 0;
  server.on("session", (s) => {
    sessionsTotal++;
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
    s.on("error", () => {});
  });
  return { server, port: await serve(server), sessions, sessionsTotal: () => sessionsTotal };
}

describe("http2 pool", () => {
  it("carries many concurrent streams on one session", async () => {
    const { server, port, sessionsTotal } = await h2Server();
    let maxActive = 0;
    let active = 0;
    server.on("stream", (stream, headers) => {
      active++;
      maxActive = Math.max(maxActive, active);
      setTimeout(() => {
        active--;
        stream.respond({ ":status": 200 });
        stream.end(String(headers[":path"]));
      }, 30);
    });
    const t = makePool(port, { protocol: "http2" });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => send(t.pool, { path: `/${i}` })));
    results.forEach((r, i) => {
      expect(r.error).toBeNull();
      expect(r.body.toString()).toBe(`/${i}`);
    });
    expect(sessionsTotal()).toBe(1);
    expect(maxActive).toBeGreaterThan(10);
    expect(t.stat("upstream_cx_http2_total")).toBe(1);
    expect(t.host.stats.rq_success).toBe(50);
    await t.pool.drain();
    await waitUntil("the server has no connection", async () => (await connections(server)) === 0);
    expect(t.host.stats.cx_active).toBe(0);
  });

  it("respects the peer's maxConcurrentStreams by opening another session", async () => {
    const { server, port, sessionsTotal } = await h2Server({ maxConcurrentStreams: 3 });
    const perSession = new Map<http2.ServerHttp2Session, number>();
    let violations = 0;
    server.on("stream", (stream) => {
      const s = stream.session as http2.ServerHttp2Session;
      const n = (perSession.get(s) ?? 0) + 1;
      perSession.set(s, n);
      if (n > 3) violations++;
      setTimeout(() => {
        perSession.set(s, (perSession.get(s) ?? 1) - 1);
        stream.respond({ ":status": 200 });
        stream.end("ok");
      }, 50);
    });
    const t = makePool(port, { protocol: "http2" });
    const results = await Promise.all(Array.from({ length: 9 }, () => send(t.pool)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(violations).toBe(0);
    expect(sessionsTotal()).toBeGreaterThanOrEqual(2);
  });

  it("replaces a session after GOAWAY and keeps serving", async () => {
    const { server, port, sessions, sessionsTotal } = await h2Server();
    server.on("stream", (stream) => {
      stream.respond({ ":status": 200 });
      stream.end("ok");
    });
    const t = makePool(port, { protocol: "http2" });
    expect((await send(t.pool)).status).toBe(200);
    // session.close() sends GOAWAY(NO_ERROR) and closes once the peer is done.
    expect(sessions.size).toBe(1);
    for (const s of sessions) s.close();
    await waitUntil("the session closes", () => sessions.size === 0);
    const r = await send(t.pool);
    expect(r.status).toBe(200);
    expect(sessionsTotal()).toBe(2);
    // As Envoy 1.40 counts it: the GOAWAY announces the close, and the proxy closes the idle session.
    expect(t.stat("upstream_cx_close_notify")).toBe(1);
    await waitUntil("the first session is closed", () => t.stat("upstream_cx_destroy") === 1);
    expect(t.stat("upstream_cx_destroy_local")).toBe(1);
    expect(t.stat("upstream_cx_destroy_with_active_rq")).toBe(0);
  });

  it("fails in-flight streams of a dead session with connection termination", async () => {
    const { server, port, sessions } = await h2Server();
    server.on("stream", (stream) => {
      stream.respond({ ":status": 200 });
      stream.write("part");
      setTimeout(() => {
        for (const s of sessions) s.destroy();
      }, 20);
    });
    const t = makePool(port, { protocol: "http2" });
    const r = await send(t.pool);
    expect(r).toMatchObject({ status: 200, error: { reason: "connection termination", afterHeaders: true } });
    expect(r.body.toString()).toBe("part");
    await waitUntil("the session is closed", () => t.stat("upstream_cx_destroy") === 1);
    expect(t.stat("upstream_cx_destroy_remote")).toBe(1);
  });

  it("reports a refused stream as remote reset", async () => {
    const { server, port } = await h2Server();
    server.on("stream", (stream) => {
      stream.on("error", () => {});
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    });
    const t = makePool(port, { protocol: "http2" });
    const r = await send(t.pool);
    expect(r.error?.reason).toBe("remote reset");
    expect(r.error?.afterHeaders).toBe(false);
  });

  it("reports a peer's RST_STREAM after the head as remote reset, counted in upstream_rq_rx_reset", async () => {
    // Our own server: node:http2's close() ends the stream before its RST_STREAM.
    let sessions = 0;
    const server = createH2cServer((stream, fields) => {
      if (stream.id === 1) sessions++;
      stream.respond([":status", "200"]);
      if (fields.includes("/reset")) {
        stream.write(Buffer.from("part"));
        setTimeout(() => stream.reset(ErrorCode.INTERNAL_ERROR), 20);
      } else stream.write(Buffer.from("ok"), true);
    });
    const port = await serve(server);
    const t = makePool(port, { protocol: "http2" });
    const r = await send(t.pool, { path: "/reset" });
    expect(r).toMatchObject({ status: 200, error: { reason: "remote reset", afterHeaders: true } });
    expect(r.body.toString()).toBe("part");
    expect(t.stat("upstream_rq_rx_reset")).toBe(1);
    expect(t.stat("upstream_rq_pending_failure_eject")).toBe(0);
    // The reset ends the stream, not the session: the next request goes on it.
    expect((await send(t.pool)).body.toString()).toBe("ok");
    expect(sessions).toBe(1);
  });

  it("passes on the final response only, after an informational 103", async () => {
    const { server, port } = await h2Server();
    server.on("stream", (stream) => {
      stream.additionalHeaders({ ":status": 103, link: "</style.css>; rel=preload" });
      stream.respond({ ":status": 200, "x-final": "1" });
      stream.end("done");
    });
    const t = makePool(port, { protocol: "http2" });
    const r = await send(t.pool);
    expect(r.status).toBe(200);
    expect(header(r.headers, "x-final")).toEqual(["1"]);
    expect(header(r.headers, "link")).toEqual([]);
    expect(r.body.toString()).toBe("done");
    expect(t.host.stats.rq_success).toBe(1);
  });

  it("converts headers both ways: lower case, multi-value, no connection headers, te trailers only", async () => {
    const { server, port } = await h2Server();
    let seen: string[] = [];
    let seenHeaders: http2.IncomingHttpHeaders = {};
    server.on(
      "stream",
      (
        stream: http2.ServerHttp2Stream,
        headers: http2.IncomingHttpHeaders,
        _flags: number,
        raw: string[],
      ) => {
        seen = raw;
        seenHeaders = headers;
        stream.respond({ ":status": 201, "x-multi": ["1", "2"], "X-Case": "v" });
        stream.end();
      },
    );
    const t = makePool(port, { protocol: "http2" });
    const r = await send(t.pool, {
      method: "POST",
      path: "/p?q=1",
      authority: "svc:9000",
      body: Buffer.from("hi"),
      headers: [
        "Host",
        "other",
        "X-Multi",
        "a",
        "x-multi",
        "b",
        "TE",
        "trailers",
        "Keep-Alive",
        "5",
        "X-Up",
        "Q",
      ],
    });
    expect(r.status).toBe(201);
    expect(seenHeaders[":authority"]).toBe("svc:9000");
    expect(seenHeaders[":path"]).toBe("/p?q=1");
    expect(seenHeaders[":method"]).toBe("POST");
    expect(seenHeaders[":scheme"]).toBe("http");
    expect(header(seen, "x-multi")).toEqual(["a", "b"]);
    expect(header(seen, "te")).toEqual(["trailers"]);
    expect(header(seen, "keep-alive")).toEqual([]);
    expect(header(seen, "host")).toEqual([]);
    expect(header(seen, "x-up")).toEqual(["Q"]);
    expect(seen.filter((_, i) => i % 2 === 0).every((n) => n === n.toLowerCase())).toBe(true);
    expect(header(r.headers, "x-multi")).toEqual(["1", "2"]);
    expect(header(r.headers, "x-case")).toEqual(["v"]);
    expect(r.headers.some((n) => n.startsWith(":"))).toBe(false);
  });

  it("drops a te header other than trailers", async () => {
    const { server, port } = await h2Server();
    let seen: string[] = [];
    server.on("stream", (stream: http2.ServerHttp2Stream, _h: unknown, _f: number, raw: string[]) => {
      seen = raw;
      stream.respond({ ":status": 200 });
      stream.end();
    });
    const t = makePool(port, { protocol: "http2" });
    await send(t.pool, { headers: ["te", "gzip"] });
    expect(header(seen, "te")).toEqual([]);
  });

  it("forwards trailers both ways", async () => {
    const { server, port } = await h2Server();
    let reqTrailers: http2.IncomingHttpHeaders | null = null;
    server.on("stream", (stream) => {
      stream.on("trailers", (h) => {
        reqTrailers = h;
      });
      stream.resume();
      stream.on("end", () => {
        stream.respond({ ":status": 200 }, { waitForTrailers: true });
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "x-t": "y" }));
        stream.end("done");
      });
    });
    const t = makePool(port, { protocol: "http2" });
    const body = Readable.from([Buffer.from("abc")]);
    const r = await send(t.pool, { method: "POST", body, trailers: ["X-Req-Trailer", "1"] });
    expect(r.body.toString()).toBe("done");
    expect(r.trailers).toEqual(["grpc-status", "0", "x-t", "y"]);
    expect(reqTrailers).not.toBeNull();
    expect((reqTrailers as unknown as http2.IncomingHttpHeaders)["x-req-trailer"]).toBe("1");
  });

  it("carries a 100 MB body up and down with checksums intact", async () => {
    const size = 100 * 1024 * 1024;
    const { server, port } = await h2Server();
    server.on("stream", (stream) => {
      const hash = createHash("sha256");
      let n = 0;
      stream.on("data", (c: Buffer) => {
        hash.update(c);
        n += c.length;
      });
      stream.on("end", () => {
        stream.respond({ ":status": 200, "x-sha": hash.digest("hex"), "x-len": String(n) });
        Readable.from(chunks(size, null)).pipe(stream);
      });
    });
    const t = makePool(port, { protocol: "http2" });
    const sent = createHash("sha256");
    const got = createHash("sha256");
    let bytes = 0;
    const result = await new Promise<{ sha: string; len: string }>((resolve, reject) => {
      let sha = "";
      let len = "";
      const handle = t.pool.request(
        { method: "POST", path: "/", authority: "a", headers: [], body: Readable.from(chunks(size, sent)) },
        {
          onHeaders(_s, h) {
            sha = header(h, "x-sha")[0] ?? "";
            len = header(h, "x-len")[0] ?? "";
          },
          onData(c) {
            got.update(c);
            bytes += c.length;
            if (bytes % (8 << 20) < c.length) {
              handle.pause();
              setTimeout(() => handle.resume(), 5);
            }
          },
          onComplete: () => resolve({ sha, len }),
          onError: (reason, detail) => reject(new Error(`${reason} ${detail}`)),
        },
      );
    });
    expect(result.len).toBe(String(size));
    expect(result.sha).toBe(sent.digest("hex"));
    expect(bytes).toBe(size);
    const expected = createHash("sha256");
    for (const c of chunks(size, null)) expected.update(c);
    expect(got.digest("hex")).toBe(expected.digest("hex"));
  }, 120_000);

  it("announces Envoy 1.40's SETTINGS and connection window, or the configured ones", async () => {
    const seen = async (overrides: Parameters<typeof makePool>[1]) => {
      const { server, port } = await h2Server();
      let settings: http2.Settings = {};
      let window = 0;
      server.on("stream", (stream) => {
        settings = stream.session?.remoteSettings ?? {};
        // The client's WINDOW_UPDATE on stream 0 came right after its SETTINGS.
        window = stream.session?.state.remoteWindowSize ?? 0;
        stream.respond({ ":status": 200 });
        stream.end();
      });
      const t = makePool(port, { protocol: "http2", ...overrides });
      expect((await send(t.pool)).status).toBe(200);
      return { stream: settings.initialWindowSize, streams: settings.maxConcurrentStreams, window };
    };
    // Envoy 1.40, measured: SETTINGS_INITIAL_WINDOW_SIZE 16 MiB, MAX_CONCURRENT_STREAMS 1024, 24 MiB.
    expect(
      await seen({
        http2MaxConcurrentStreams: 1024,
        http2InitialStreamWindowSize: 16 * 1024 * 1024,
        http2InitialConnectionWindowSize: 24 * 1024 * 1024,
      }),
    ).toEqual({ stream: 16 * 1024 * 1024, streams: 1024, window: 24 * 1024 * 1024 });
    expect(
      await seen({
        http2MaxConcurrentStreams: 7,
        http2InitialStreamWindowSize: 1024 * 1024,
        http2InitialConnectionWindowSize: 2 * 1024 * 1024,
      }),
    ).toEqual({ stream: 1024 * 1024, streams: 7, window: 2 * 1024 * 1024 });
  });

  it("closes an idle session after upstreamIdleTimeoutMs", async () => {
    const { server, port, sessions } = await h2Server();
    server.on("stream", (stream) => {
      stream.respond({ ":status": 200 });
      stream.end();
    });
    const t = makePool(port, { protocol: "http2", upstreamIdleTimeoutMs: 150 });
    await send(t.pool);
    expect(sessions.size).toBe(1);
    await waitUntil("the idle session closes", () => sessions.size === 0, { withinMs: 3000 });
    expect((await send(t.pool)).status).toBe(200);
  });

  it("reports connection failure when the port refuses", async () => {
    const t = makePool(await freePort(), { protocol: "http2" });
    const results = await Promise.all([send(t.pool), send(t.pool)]);
    for (const r of results) expect(r.error?.reason).toBe("connection failure");
    expect(t.stat("upstream_cx_connect_fail")).toBe(1);
  });

  it("abort() resets the stream and keeps the session for others", async () => {
    const { server, port, sessionsTotal } = await h2Server();
    let resets = 0;
    server.on("stream", (stream, headers) => {
      stream.on("close", () => {
        if (stream.rstCode === http2.constants.NGHTTP2_CANCEL) resets++;
      });
      stream.respond({ ":status": 200 });
      if (headers[":path"] === "/hang") stream.write("x");
      else stream.end("ok");
    });
    const t = makePool(port, { protocol: "http2" });
    const lateCalls = await abortAfterBody(t.pool, 1, "/hang");
    await waitUntil("the stream is reset", () => resets === 1);
    expect(lateCalls()).toBe(0);
    expect((await send(t.pool)).body.toString()).toBe("ok");
    expect(sessionsTotal()).toBe(1);
    expect(t.host.stats.rq_active).toBe(0);
  });
});

function* chunks(size: number, hash: ReturnType<typeof createHash> | null): Generator<Buffer> {
  for (let off = 0, i = 0; off < size; off += 64 * 1024, i++) {
    const c = Buffer.alloc(64 * 1024, i & 0xff);
    hash?.update(c);
    yield c;
  }
}
