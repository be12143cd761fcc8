/**
 * The HTTP/1.1 upstream wire format, byte for byte, against what Envoy 1.40 sends a raw TCP
 * upstream (measured with a logging upstream; the expected bytes below are Envoy's, with only the
 * headers the router adds left out), and the response parser on the answers upstreams give.
 */
import net from "node:net";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { sleep, waitUntil } from "../../../lib/wait.js";
import type { UpstreamRequest } from "../../api/upstream.js";
import { type Outcome, rawUpstream, send, usePools } from "./helpers.js";

const { makePool, serve } = usePools();

const OK = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

interface WireCase {
  name: string;
  req: Partial<UpstreamRequest>;
  /** What the upstream must receive. */
  wire: string;
}

const WIRE: WireCase[] = [
  {
    name: "GET: lower-case names in order, no connection header",
    req: { path: "/a", authority: "x", headers: ["User-Agent", "T", "X-Mixed-Case", "v"] },
    wire: "GET /a HTTP/1.1\r\nhost: x\r\nuser-agent: T\r\nx-mixed-case: v\r\n\r\n",
  },
  {
    name: "POST with content-length: kept where it is",
    req: {
      method: "POST",
      authority: "x",
      headers: ["content-length", "5", "x-after", "1"],
      body: Buffer.from("hello"),
    },
    wire: "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nx-after: 1\r\n\r\nhello",
  },
  {
    name: "POST, body of unknown length: chunked, transfer-encoding last",
    req: {
      method: "POST",
      authority: "x",
      headers: ["x-after", "1"],
      body: Readable.from([Buffer.from("hello")]),
    },
    wire: "POST / HTTP/1.1\r\nhost: x\r\nx-after: 1\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
  },
  {
    name: "POST without a body: content-length: 0 last",
    req: { method: "POST", authority: "x", headers: ["x-mixed", "1"] },
    wire: "POST / HTTP/1.1\r\nhost: x\r\nx-mixed: 1\r\ncontent-length: 0\r\n\r\n",
  },
  {
    name: "PUT, PATCH, OPTIONS without a body: content-length: 0",
    req: { method: "OPTIONS", authority: "x" },
    wire: "OPTIONS / HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n",
  },
  {
    name: "DELETE, TRACE, GET without a body: nothing added",
    req: { method: "DELETE", authority: "x" },
    wire: "DELETE / HTTP/1.1\r\nhost: x\r\n\r\n",
  },
];

describe("HTTP/1.1 upstream wire format (Envoy 1.40's)", () => {
  for (const c of WIRE) {
    it(c.name, async () => {
      const up = await rawUpstream(serve, () => OK);
      const t = makePool(up.port);
      const r = await send(t.pool, c.req);
      expect(r.error).toBeNull();
      expect(up.received.join("")).toBe(c.wire);
    });
  }

  it("sends a streamed body's bytes already read with the head, in one write to the socket", async () => {
    const up = await rawUpstream(serve, () => OK);
    // Each flush of the client's socket, as the kernel gets it (one write or writev each).
    const flushes: number[] = [];
    const t = makePool(
      up.port,
      {},
      {
        socketFactory: (host) => {
          const socket = net.connect({ host: host.address, port: host.port });
          const writev = socket._writev?.bind(socket);
          const write = socket._write.bind(socket);
          socket._writev = (chunks, cb) => {
            flushes.push(chunks.reduce((n, c) => n + c.chunk.length, 0));
            writev?.(chunks, cb);
          };
          socket._write = (chunk, encoding, cb) => {
            flushes.push(chunk.length);
            write(chunk, encoding, cb);
          };
          return socket;
        },
      },
    );
    // A downstream body whose bytes have all arrived: two reads' worth, waiting in the stream.
    const body = new Readable({ read() {} });
    body.push(Buffer.from("hello "));
    body.push(Buffer.from("world"));
    body.push(null);
    const r = await send(t.pool, { method: "POST", authority: "x", headers: ["content-length", "11"], body });
    expect(r.error).toBeNull();
    const wire = "POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 11\r\n\r\nhello world";
    expect(up.received.join("")).toBe(wire);
    expect(flushes).toEqual([wire.length]);
  });

  it("HEAD keeps the connection (its response has no body)", async () => {
    const up = await rawUpstream(serve, () => "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n");
    const t = makePool(up.port);
    const head = await send(t.pool, { method: "HEAD" });
    expect(head).toMatchObject({ status: 200, error: null });
    expect(head.headers).toEqual(["content-length", "10"]);
    expect((await send(t.pool, { method: "HEAD" })).error).toBeNull();
    expect(up.received.length).toBe(1);
  });
});

interface ParseCase {
  name: string;
  response: string;
  expect: Partial<Outcome> & { body?: Buffer };
  /** Whether the connection serves the next request. */
  reused: boolean;
}

const PARSE: ParseCase[] = [
  {
    name: "names lower-cased, hop-by-hop removed, the rest in order",
    response:
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-B: 2\r\nX-A: 1\r\n\r\nok",
    expect: {
      status: 200,
      headers: ["content-length", "2", "x-b", "2", "x-a", "1"],
      body: Buffer.from("ok"),
    },
    reused: true,
  },
  {
    name: "100 Continue is not forwarded",
    response: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n",
    expect: { status: 201, headers: ["content-length", "0"], body: Buffer.alloc(0) },
    reused: true,
  },
  {
    name: "chunked, with trailers",
    response:
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n3;ext=1\r\n!!!\r\n0\r\nX-T: 1\r\n\r\n",
    expect: { status: 200, headers: [], body: Buffer.from("ok!!!"), trailers: ["x-t", "1"] },
    reused: true,
  },
  {
    name: "connection: close",
    response: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    expect: { status: 200, body: Buffer.from("ok") },
    reused: false,
  },
  {
    name: "HTTP/1.0 without keep-alive",
    response: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    expect: { status: 200, body: Buffer.from("ok") },
    reused: false,
  },
  {
    name: "two different content-lengths: protocol error",
    response: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
    expect: {
      status: 0,
      error: {
        reason: "protocol error",
        detail: "HPE_INVALID_RESPONSE: bad content-length",
        afterHeaders: false,
      },
    },
    reused: false,
  },
  {
    name: "not HTTP: protocol error",
    response: "SSH-2.0-OpenSSH\r\n\r\n",
    expect: {
      status: 0,
      error: {
        reason: "protocol error",
        detail: "HPE_INVALID_RESPONSE: bad status line",
        afterHeaders: false,
      },
    },
    reused: false,
  },
];

describe("HTTP/1.1 upstream responses", () => {
  for (const c of PARSE) {
    it(c.name, async () => {
      const up = await rawUpstream(serve, () => c.response);
      const t = makePool(up.port);
      const r = await send(t.pool);
      expect(r).toMatchObject(c.expect);
      if (c.expect.error === undefined) {
        expect((await send(t.pool)).error).toBeNull();
        expect(up.received.length).toBe(c.reused ? 1 : 2);
      }
    });
  }

  it("ignores an upstream's Keep-Alive: timeout hint, as Envoy (idle timeout 1 h by default)", async () => {
    const up = await rawUpstream(
      serve,
      () => "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\ncontent-length: 2\r\n\r\nok",
    );
    const t = makePool(up.port, { upstreamIdleTimeoutMs: 3_600_000 });
    expect((await send(t.pool)).status).toBe(200);
    await sleep(1300);
    expect((await send(t.pool)).status).toBe(200);
    expect(up.received.length).toBe(1);
  });

  it("a body delimited by the close of the connection", async () => {
    const server = net.createServer((socket) => {
      socket.once("data", () => socket.end("HTTP/1.1 200 OK\r\n\r\nuntil close"));
      socket.on("error", () => {});
    });
    const t = makePool(await serve(server));
    const r = await send(t.pool);
    expect(r).toMatchObject({ status: 200, error: null, body: Buffer.from("until close") });
  });

  it("a retried answer already read to its end leaves the connection in the pool", async () => {
    const up = await rawUpstream(
      serve,
      () => "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n",
    );
    const t = makePool(up.port);
    // Abort from onHeaders, as the router does when it retries a 503.
    await new Promise<void>((resolve) => {
      const handle = t.pool.request(
        { method: "GET", path: "/", authority: "a", headers: [], body: null },
        {
          onHeaders() {
            handle.abort();
            resolve();
          },
          onData() {},
          onComplete() {},
          onError() {},
        },
      );
    });
    expect((await send(t.pool)).status).toBe(503);
    expect(up.received.length).toBe(1);
    await waitUntil("the request is released", () => t.host.stats.rq_active === 0);
  });

  it("refuses a header value with a line break (no header smuggling)", async () => {
    const up = await rawUpstream(serve, () => OK);
    const t = makePool(up.port);
    const r = await send(t.pool, { headers: ["x-a", "1\r\nx-injected: 1"] });
    expect(r.error?.reason).toBe("protocol error");
    expect(up.received.join("")).not.toContain("x-injected");
  });
});
