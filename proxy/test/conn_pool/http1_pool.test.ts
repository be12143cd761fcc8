import { createHash } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { freePort } from "../../../lib/net.js";
import { sleep, waitUntil } from "../../../lib/wait.js";
import { connections } from "../../../test-support/servers.js";
import { abortAfterBody, header, send, usePools } from "./helpers.js";

const { makePool, serve } = usePools();

async function h1Server(handler: http.RequestListener, keepAliveTimeout = 5000) {
  const server = http.createServer(handler);
  server.keepAliveTimeout = keepAliveTimeout;
  /** Every connection the server accepted. */
  const sockets: net.Socket[] = [];
  server.on("connection", (s: net.Socket) => sockets.push(s));
  return { server, port: await serve(server), sockets };
}

describe("http1 pool", () => {
  it("reuses one keep-alive connection for sequential requests", async () => {
    const { server, port, sockets } = await h1Server((req, res) => {
      res.end(`${req.headers.host} ${req.url}`);
    });
    const t = makePool(port);
    for (let i = 0; i < 5; i++) {
      const r = await send(t.pool, { path: `/n${i}`, authority: "svc.local:8080" });
      expect(r.error).toBeNull();
      expect(r.body.toString()).toBe(`svc.local:8080 /n${i}`);
    }
    expect(sockets.length).toBe(1);
    expect(t.stat("upstream_cx_total")).toBe(1);
    expect(t.stat("upstream_cx_http1_total")).toBe(1);
    expect(t.host.stats.rq_total).toBe(5);
    expect(t.host.stats.rq_success).toBe(5);
    expect(t.host.stats.rq_active).toBe(0);
    expect(t.host.stats.cx_active).toBe(1);
    await t.pool.drain();
    await waitUntil("the server has no connection", async () => (await connections(server)) === 0);
    expect(t.stat("upstream_cx_active")).toBe(0);
    expect(t.host.stats.cx_active).toBe(0);
  });

  it("opens parallel connections under concurrency and strips hop-by-hop response headers (as Envoy)", async () => {
    const { sockets, port } = await h1Server((_req, res) => {
      res.setHeader("Keep-Alive", "timeout=5");
      res.setHeader("X-Multi", ["a", "b"]);
      res.setHeader("Connection", "keep-alive, X-Private");
      res.setHeader("X-Private", "secret");
      setTimeout(() => res.end("ok"), 20);
    });
    const t = makePool(port);
    const results = await Promise.all(Array.from({ length: 4 }, () => send(t.pool)));
    expect(sockets.length).toBe(4);
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(header(r.headers, "x-multi")).toEqual(["a", "b"]);
      expect(header(r.headers, "keep-alive")).toEqual([]);
      expect(header(r.headers, "connection")).toEqual([]);
      // Envoy 1.40 keeps a response header its Connection names (measured).
      expect(header(r.headers, "x-private")).toEqual(["secret"]);
    }
  });

  it("closes idle pooled connections after upstreamIdleTimeoutMs", async () => {
    const { server, port } = await h1Server((_req, res) => res.end("x"));
    const t = makePool(port, { upstreamIdleTimeoutMs: 200 });
    await send(t.pool);
    expect(await connections(server)).toBe(1);
    await waitUntil("the server has no connection", async () => (await connections(server)) === 0, {
      withinMs: 3000,
    });
    expect(t.host.stats.cx_active).toBe(0);
    // The next request opens a new connection and works.
    const r = await send(t.pool);
    expect(r.status).toBe(200);
    expect(t.stat("upstream_cx_total")).toBe(2);
  });

  it("does not close a connection whose exchange outlasts upstreamIdleTimeoutMs, nor one reused within it", async () => {
    let calls = 0;
    const { server, port } = await h1Server((_req, res) => {
      calls++;
      // The first response comes after three idle timeouts of silence.
      if (calls === 1) setTimeout(() => res.end("slow"), 450);
      else res.end("x");
    });
    const t = makePool(port, { upstreamIdleTimeoutMs: 150 });
    const slow = await send(t.pool);
    expect(slow.error).toBeNull();
    expect(slow.body.toString()).toBe("slow");
    // Reused before the idle timeout: the same connection.
    await sleep(50);
    expect((await send(t.pool)).status).toBe(200);
    expect(t.stat("upstream_cx_total")).toBe(1);
    // Idle from now on: closed.
    await waitUntil("the server has no connection", async () => (await connections(server)) === 0, {
      withinMs: 3000,
    });
  });

  it("retries once on a fresh connection when a reused idle socket is reset before the response", async () => {
    // The upstream resets every connection as soon as the second request arrives on it.
    let requests = 0;
    const server = net.createServer((socket) => {
      let served = 0;
      socket.on("data", () => {
        requests++;
        served++;
        if (served === 1) socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        else socket.resetAndDestroy();
      });
      socket.on("error", () => {});
    });
    const port = await serve(server);
    const t = makePool(port);
    expect((await send(t.pool)).status).toBe(200);
    const r = await send(t.pool, { method: "GET" });
    expect(r.error).toBeNull();
    expect(r.body.toString()).toBe("ok");
    expect(requests).toBe(3);
    expect(t.stat("upstream_cx_total")).toBe(2);

    // Not retried: a POST (not idempotent) on a reused socket.
    const p = await send(t.pool, {
      method: "POST",
      body: Buffer.from("x"),
      headers: ["content-length", "1"],
    });
    expect(p.error?.reason).toBe("connection termination");
    expect(p.error?.afterHeaders).toBe(false);
  });

  it("a request cancelled while its connection is being opened leaves it to serve the next request (Envoy's CancelPolicy::Default)", async () => {
    const { sockets, port } = await h1Server((req, res) => res.end(`got ${req.url}`));
    const t = makePool(port);
    t.pool
      .request(
        { method: "GET", path: "/gone", authority: "a", headers: [], body: null },
        { onHeaders() {}, onData() {}, onComplete() {}, onError() {} },
      )
      .abort();
    expect(t.stat("upstream_cx_total")).toBe(1);
    expect(t.stat("upstream_rq_pending_active")).toBe(0);
    const r = await send(t.pool, { path: "/next" });
    expect(r.body.toString()).toBe("got /next");
    expect(sockets.length).toBe(1);
    expect(t.stat("upstream_rq_total")).toBe(1);
  });

  it("1,000 requests sent and cancelled at once open one connection, not one each", async () => {
    const { sockets, port } = await h1Server((_req, res) => res.end("ok"));
    const t = makePool(port);
    for (let i = 0; i < 1000; i++) {
      t.pool
        .request(
          { method: "GET", path: "/", authority: "a", headers: [], body: null },
          { onHeaders() {}, onData() {}, onComplete() {}, onError() {} },
        )
        .abort();
    }
    expect((await send(t.pool)).status).toBe(200);
    expect(sockets.length).toBe(1);
    expect(t.stat("upstream_cx_total")).toBe(1);
    expect(t.stat("upstream_rq_pending_total")).toBe(1001);
  });

  it("a failed connect fails every waiting request (Envoy's purgePendingStreams)", async () => {
    const t = makePool(await freePort());
    const results = await Promise.all([send(t.pool), send(t.pool), send(t.pool)]);
    expect(results.map((r) => r.error?.reason)).toEqual([
      "connection failure",
      "connection failure",
      "connection failure",
    ]);
    expect(t.stat("upstream_rq_pending_failure_eject")).toBe(3);
    expect(t.stat("upstream_rq_pending_active")).toBe(0);
  });

  it("reports connection failure when the port refuses", async () => {
    const port = await freePort();
    const t = makePool(port);
    const r = await send(t.pool);
    expect(r.error?.reason).toBe("connection failure");
    // Envoy's transport failure reason.
    expect(r.error?.detail).toBe("delayed connect error: Connection refused");
    expect(t.stat("upstream_cx_connect_fail")).toBe(1);
    expect(t.stat("upstream_cx_connect_timeout")).toBe(0);
    expect(t.host.stats.rq_error).toBe(1);
  });

  it("reports connection timeout after connect_timeout to a host that never answers", async () => {
    const sockets: net.Socket[] = [];
    const t = makePool(
      9,
      { connectTimeoutMs: 100 },
      {
        // A socket that never connects (as with a SYN black hole), deterministically.
        socketFactory: () => {
          const s = new net.Socket();
          sockets.push(s);
          return s;
        },
      },
    );
    const started = Date.now();
    const r = await send(t.pool);
    expect(r.error?.reason).toBe("connection timeout");
    expect(r.error?.detail).toContain("timeout");
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(t.stat("upstream_cx_connect_fail")).toBe(1);
    expect(t.stat("upstream_cx_connect_timeout")).toBe(1);
    expect(sockets.every((s) => s.destroyed)).toBe(true);
  });

  it("reports connection termination after onHeaders when the upstream dies mid-response", async () => {
    const server = net.createServer((socket) => {
      socket.once("data", () => {
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
        setTimeout(() => socket.destroy(), 20);
      });
      socket.on("error", () => {});
    });
    const port = await serve(server);
    const t = makePool(port);
    const r = await send(t.pool);
    expect(r).toMatchObject({ status: 200, error: { reason: "connection termination", afterHeaders: true } });
    expect(r.body.toString()).toBe("partial");
  });

  it("abort() mid-response destroys the socket instead of returning it to the pool", async () => {
    const { server, port, sockets } = await h1Server((_req, res) => {
      res.write("first");
      // never ends
    });
    const t = makePool(port);
    const lateCalls = await abortAfterBody(t.pool, 1);
    await waitUntil("the server has no connection", async () => (await connections(server)) === 0);
    expect(lateCalls()).toBe(0);
    expect(t.host.stats.rq_active).toBe(0);
    server.removeAllListeners("request");
    server.on("request", (_req, res) => res.end("fresh"));
    const r = await send(t.pool);
    expect(r.body.toString()).toBe("fresh");
    expect(sockets.length).toBe(2);
  });

  it("streams a large request body and response with backpressure, checksums intact", async () => {
    const size = 64 * 1024 * 1024;
    const { port } = await h1Server((req, res) => {
      const hash = createHash("sha256");
      req.on("data", (c: Buffer) => hash.update(c));
      req.on("end", () => {
        res.setHeader("x-sha", hash.digest("hex"));
        // Echo a generated body of the same size back.
        res.setHeader("content-length", String(size));
        pump(res, size);
      });
    });
    const t = makePool(port);
    const sent = createHash("sha256");
    const body = Readable.from(generate(size, sent));
    const received = createHash("sha256");
    let bytes = 0;
    const out = await new Promise<{ status: number; sha: string }>((resolve, reject) => {
      let sha = "";
      let status = 0;
      const handle = t.pool.request(
        {
          method: "POST",
          path: "/up",
          authority: "a",
          headers: ["content-type", "application/octet-stream"],
          body,
        },
        {
          onHeaders(s, h) {
            status = s;
            sha = header(h, "x-sha")[0] ?? "";
          },
          onData(c) {
            received.update(c);
            bytes += c.length;
            // Simulate a slow downstream: pause and resume later.
            handle.pause();
            setImmediate(() => handle.resume());
          },
          onComplete() {
            resolve({ status, sha });
          },
          onError(reason, detail) {
            reject(new Error(`${reason}: ${detail}`));
          },
        },
      );
    });
    expect(out.status).toBe(200);
    expect(out.sha).toBe(sent.digest("hex"));
    expect(bytes).toBe(size);
    expect(received.digest("hex")).toBe(expectedSha(size));
  }, 60_000);

  it("forwards response trailers of a chunked response", async () => {
    const { port } = await h1Server((_req, res) => {
      res.setHeader("Trailer", "x-checksum");
      res.write("body");
      res.addTrailers({ "x-checksum": "abc" });
      res.end();
    });
    const t = makePool(port);
    const r = await send(t.pool);
    expect(r.body.toString()).toBe("body");
    expect(r.trailers).toEqual(["x-checksum", "abc"]);
    // `trailer` is no hop-by-hop header to Envoy (measured): it passes.
    expect(header(r.headers, "trailer")).toEqual(["x-checksum"]);
  });

  it("sends Host from the authority and drops expect and stray host headers", async () => {
    let seen: string[] = [];
    const { port } = await h1Server((req, res) => {
      seen = req.rawHeaders;
      res.end();
    });
    const t = makePool(port);
    await send(t.pool, {
      authority: "up.example:81",
      headers: ["Host", "old", "Expect", "100-continue", "X-A", "1"],
    });
    expect(header(seen, "host")).toEqual(["up.example:81"]);
    expect(header(seen, "expect")).toEqual([]);
    expect(header(seen, "x-a")).toEqual(["1"]);
  });

  it("reports an invalid request as a protocol error, never from inside request()", async () => {
    const { server, port } = await h1Server((_req, res) => res.end());
    const t = makePool(port);
    let returned = false;
    const reason = await new Promise<string>((resolve) => {
      t.pool.request(
        { method: "GET", path: "/", authority: "a", headers: ["x-bad", "a\nb"], body: null },
        {
          onHeaders() {},
          onData() {},
          onComplete: () => resolve("complete"),
          onError: (r) => resolve(returned ? r : "synchronous"),
        },
      );
      returned = true;
    });
    expect(reason).toBe("protocol error");
    expect(t.host.stats.rq_active).toBe(0);
    await waitUntil("the server has no connection", async () => (await connections(server)) === 0);
  });

  it("fails new requests once draining, and drain resolves when connections are closed", async () => {
    const { server, port } = await h1Server((_req, res) => setTimeout(() => res.end("slow"), 100));
    const t = makePool(port);
    const inflight = send(t.pool);
    await sleep(30);
    const drained = t.pool.drain();
    const late = await send(t.pool);
    expect(late.error?.reason).toBe("connection failure");
    expect((await inflight).body.toString()).toBe("slow");
    await drained;
    await waitUntil("the server has no connection", async () => (await connections(server)) === 0);
  });
});

function* generate(size: number, hash: ReturnType<typeof createHash>): Generator<Buffer> {
  const chunk = Buffer.alloc(64 * 1024);
  for (let off = 0; off < size; off += chunk.length) {
    chunk.fill(off & 0xff);
    const c = Buffer.from(chunk);
    hash.update(c);
    yield c;
  }
}

function pump(res: http.ServerResponse, size: number): void {
  let off = 0;
  const chunk = Buffer.alloc(64 * 1024, 7);
  const write = (): void => {
    while (off < size) {
      off += chunk.length;
      if (!res.write(chunk)) {
        res.once("drain", write);
        return;
      }
    }
    res.end();
  };
  write();
}

function expectedSha(size: number): string {
  const h = createHash("sha256");
  const chunk = Buffer.alloc(64 * 1024, 7);
  for (let off = 0; off < size; off += chunk.length) h.update(chunk);
  return h.digest("hex");
}

/**
 * Who closed each connection, and what the upstream said, as Envoy 1.40 counts it (measured with the
 * differential cases `upstream-reset-mid-body` and `upstream-malformed-response`): one request to a
 * raw upstream that answers `reply` and then does `after`; the pool is drained at the end.
 */
const CLOSES: ReadonlyArray<{
  name: string;
  reply: string;
  after: "keep" | "end" | "reset";
  expected: Record<string, number>;
}> = [
  {
    name: "a keep-alive connection the pool closes when drained",
    reply: "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
    after: "keep",
    expected: { upstream_cx_destroy: 1, upstream_cx_destroy_local: 1 },
  },
  {
    name: "an idle connection the upstream closes",
    reply: "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
    after: "end",
    expected: { upstream_cx_destroy: 1, upstream_cx_destroy_remote: 1 },
  },
  {
    name: "`connection: close`: announced, then closed by the proxy at the end of the response",
    reply: "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok",
    after: "keep",
    expected: { upstream_cx_close_notify: 1, upstream_cx_destroy: 1, upstream_cx_destroy_local: 1 },
  },
  {
    name: "an HTTP/1.0 response without keep-alive is announced as closing",
    reply: "HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok",
    after: "keep",
    expected: { upstream_cx_close_notify: 1, upstream_cx_destroy: 1, upstream_cx_destroy_local: 1 },
  },
  {
    name: "a malformed response: protocol error, closed by the proxy with the request on it",
    reply: "NOT HTTP AT ALL\r\n\r\n",
    after: "keep",
    expected: {
      upstream_cx_protocol_error: 1,
      upstream_cx_destroy: 1,
      upstream_cx_destroy_local: 1,
      upstream_cx_destroy_with_active_rq: 1,
      upstream_cx_destroy_local_with_active_rq: 1,
    },
  },
  {
    name: "a reset mid-body: protocol error, closed by the upstream with the request on it",
    reply: "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial",
    after: "reset",
    expected: {
      upstream_cx_protocol_error: 1,
      upstream_cx_destroy: 1,
      upstream_cx_destroy_remote: 1,
      upstream_cx_destroy_with_active_rq: 1,
      upstream_cx_destroy_remote_with_active_rq: 1,
    },
  },
  {
    name: "a response read until the upstream closes is complete: no protocol error, no active request",
    reply: "HTTP/1.1 200 OK\r\n\r\nuntil close",
    after: "end",
    expected: { upstream_cx_destroy: 1, upstream_cx_destroy_remote: 1 },
  },
];

const CLOSE_STATS = [
  "upstream_cx_destroy",
  "upstream_cx_destroy_local",
  "upstream_cx_destroy_remote",
  "upstream_cx_destroy_with_active_rq",
  "upstream_cx_destroy_local_with_active_rq",
  "upstream_cx_destroy_remote_with_active_rq",
  "upstream_cx_close_notify",
  "upstream_cx_protocol_error",
];

describe("http1 pool: connection close counters", () => {
  it.each(CLOSES)("$name", async ({ reply, after, expected }) => {
    const server = net.createServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => {
        socket.write(reply, "latin1", () => {
          if (after === "end") setTimeout(() => socket.end(), 30);
          else if (after === "reset") setTimeout(() => socket.resetAndDestroy(), 30);
        });
      });
    });
    const t = makePool(await serve(server));
    await send(t.pool);
    await sleep(80);
    await t.pool.drain();
    await waitUntil("the connection is closed", () => t.stat("upstream_cx_active") === 0);
    const counted: Record<string, number> = {};
    for (const name of CLOSE_STATS) if (t.stat(name) !== 0) counted[name] = t.stat(name);
    expect(counted).toEqual(expected);
  });

  it("a connect refused is closed by the remote side, without a request on it", async () => {
    const t = makePool(await freePort());
    const r = await send(t.pool);
    expect(r.error).not.toBeNull();
    await waitUntil("the connection is closed", () => t.stat("upstream_cx_active") === 0);
    expect(t.stat("upstream_cx_destroy_remote")).toBe(1);
    expect(t.stat("upstream_cx_destroy_local")).toBe(0);
    expect(t.stat("upstream_cx_destroy_with_active_rq")).toBe(0);
  });
});
