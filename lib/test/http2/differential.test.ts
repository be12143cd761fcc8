/**
 * Differential tests: the same requests through node:http2 (nghttp2) and through our HTTP/2 layer, in
 * both roles, must give the same results a user sees. node client -> our server is compared with
 * node client -> node server; our client -> node server with node client -> node server.
 */

import http2 from "node:http2";
import type { Server } from "node:net";
import { describe, expect, it } from "vitest";
import { useCleanup } from "../../../test-support/cleanup.js";
import { closeServer, listen } from "../../../test-support/servers.js";
import { ErrorCode } from "../../http2/frames.js";
import { createH2cServer } from "../../http2/server.js";
import {
  type Client,
  nodeClient,
  nodeEchoServer,
  ourClient,
  ourEchoServer,
  pattern,
  type Req,
} from "./peers.js";

const defer = useCleanup();

async function serve(server: Server | http2.Http2Server): Promise<number> {
  const port = await listen(server as Server);
  defer(() => closeServer(server as Server));
  return port;
}

/** node:http2 adds `date` to every response head. */
function withoutDate(fields: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < fields.length; i += 2)
    if (fields[i] !== "date") out.push(fields[i] as string, fields[i + 1] as string);
  return out;
}

const REQUESTS: Req[] = [
  { method: "GET", path: "/echo" },
  { method: "HEAD", path: "/status/204" },
  { method: "GET", path: "/status/404" },
  {
    method: "POST",
    path: "/echo",
    headers: { "content-type": "text/plain", "x-a": "1" },
    body: Buffer.from("hello"),
  },
  { method: "POST", path: "/echo", body: pattern(100_000) },
  { method: "PUT", path: "/echo", body: pattern(20), trailers: { "x-trailer": "t1" } },
  { method: "GET", path: "/big/300000" },
  { method: "GET", path: "/reset" },
  { method: "GET", path: "/echo", headers: { "x-long": "v".repeat(20_000) } },
];

async function runAll(client: Client): Promise<unknown[]> {
  // All at once on one connection: interleaved streams, shared connection windows.
  return Promise.all(REQUESTS.map((r) => client.send(r)));
}

describe("differential: our HTTP/2 against node:http2", () => {
  it("node:http2 client -> our server answers as node:http2's server does", async () => {
    const ours = await nodeClient(await serve(ourEchoServer()));
    const theirs = await nodeClient(await serve(nodeEchoServer()));
    defer(() => ours.close());
    defer(() => theirs.close());
    const expected = await runAll(theirs);
    expect(await runAll(ours)).toEqual(expected);
    expect(expected[7]).toEqual({ reset: ErrorCode.CANCEL });
    expect(expected[5]).toMatchObject({ status: 200, trailers: { "x-trailer-echo": "t1" } });
  });

  it("our client -> node:http2 server sees what node:http2's client sees", async () => {
    const port = await serve(nodeEchoServer());
    const ours = await ourClient(port);
    const theirs = await nodeClient(port);
    defer(() => ours.close());
    defer(() => theirs.close());
    expect(await runAll(ours)).toEqual(await runAll(theirs));
  });

  it("our client -> our server agrees too", async () => {
    const port = await serve(ourEchoServer());
    const ours = await ourClient(port);
    const theirs = await nodeClient(await serve(nodeEchoServer()));
    defer(() => ours.close());
    defer(() => theirs.close());
    expect(await runAll(ours)).toEqual(await runAll(theirs));
  });

  it("random requests (seeded): headers of every octet, bodies, trailers give the same results", async () => {
    let seed = 11;
    const rand = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    // Field values: any octet but NUL, CR, LF, and no leading or trailing space (node:http2 trims those).
    const value = (): string => {
      let v = "";
      const n = 1 + rand(60);
      for (let i = 0; i < n; i++) {
        let c = 0x21 + rand(0xff - 0x21);
        if (c === 0x7f) c = 0x7e;
        v += String.fromCharCode(c);
      }
      return v;
    };
    const reqs: Req[] = [];
    for (let i = 0; i < 60; i++) {
      const headers: Record<string, string> = {};
      for (let h = rand(12); h > 0; h--) headers[`x-r${rand(20)}`] = value();
      const body = rand(3) === 0 ? undefined : pattern(rand(70_000));
      const trailers = rand(4) === 0 ? { "x-trailer": value() } : undefined;
      reqs.push({ method: body === undefined ? "GET" : "POST", path: "/echo", headers, body, trailers });
    }
    const ours = await nodeClient(await serve(ourEchoServer()));
    const theirs = await nodeClient(await serve(nodeEchoServer()));
    const ourClientToNode = await ourClient(await serve(nodeEchoServer()));
    defer(() => ours.close());
    defer(() => theirs.close());
    defer(() => ourClientToNode.close());
    const expected = await Promise.all(reqs.map((r) => theirs.send(r)));
    expect(await Promise.all(reqs.map((r) => ours.send(r)))).toEqual(expected);
    expect(await Promise.all(reqs.map((r) => ourClientToNode.send(r)))).toEqual(expected);
  });

  it("moves 8 MiB both ways through 64 KiB windows (flow control, WINDOW_UPDATE)", async () => {
    const body = pattern(8 * 1024 * 1024);
    const req: Req = { method: "POST", path: "/echo", body };
    const small = { initialStreamWindowSize: 65_535, initialConnectionWindowSize: 65_535 };
    // Our server with small windows receives from node; our client with small windows receives from node.
    const fromNode = await nodeClient(await serve(ourEchoServer(small)));
    const toNode = await ourClient(await serve(nodeEchoServer()), small);
    // And ours <-> ours through the same windows. (Sending beyond a window is caught by
    // connection.test.ts: node:http2 does not enforce its receive windows.)
    const both = await ourClient(await serve(ourEchoServer(small)), small);
    defer(() => fromNode.close());
    defer(() => toNode.close());
    defer(() => both.close());
    const [a, b, c] = await Promise.all([fromNode.send(req), toNode.send(req), both.send(req)]);
    expect(a).toMatchObject({ status: 200, bodyLength: body.length });
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });

  it("a paused stream holds the peer at its window; resume lets the rest through", async () => {
    const port = await serve(nodeEchoServer());
    const client = await ourClient(port, { initialStreamWindowSize: 65_535 });
    defer(() => client.close());
    const stream = client.connection.request(
      [":method", "GET", ":scheme", "http", ":path", "/big/1000000", ":authority", "x"],
      true,
    );
    let received = 0;
    stream.onData = (c) => {
      received += c.length;
      if (received > 0) stream.pause();
    };
    const ended = new Promise<void>((resolve) => {
      stream.onEnd = () => resolve();
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(received).toBeLessThanOrEqual(65_535);
    stream.onData = (c) => {
      received += c.length;
    };
    stream.resume();
    await ended;
    expect(received).toBe(1_000_000);
  });

  it("GOAWAY from our server: the stream in flight completes, the client learns the last stream id", async () => {
    let release: () => void = () => {};
    const server = createH2cServer((stream) => {
      stream.onEnd = () => {
        release = () => {
          stream.respond([":status", "200"]);
          stream.end();
        };
        stream.connection.goaway();
      };
    });
    const port = await serve(server);
    const session = http2.connect(`http://127.0.0.1:${port}`);
    defer(() => session.destroy());
    session.on("error", () => {});
    const goaway = new Promise<[number, number]>((resolve) =>
      session.on("goaway", (code, last) => resolve([code, last])),
    );
    const req = session.request({ ":path": "/" });
    req.on("error", () => {});
    const status = new Promise<number>((resolve) => req.on("response", (h) => resolve(Number(h[":status"]))));
    expect(await goaway).toEqual([0, 1]);
    release();
    expect(await status).toBe(200);
    await new Promise<void>((resolve) => session.on("close", () => resolve()));
  });

  it("GOAWAY from node:http2: our client refuses streams above the last id and closes", async () => {
    const server = http2.createServer();
    server.on("stream", (stream) => {
      stream.on("error", () => {});
      stream.session?.goaway(0, 1);
      stream.respond({ ":status": 200 }, { endStream: true });
    });
    const port = await serve(server);
    const client = await ourClient(port);
    defer(() => client.close());
    const goaway = new Promise<[number, number]>((resolve) => {
      (
        client.connection as unknown as { callbacks: { onGoaway: (c: number, l: number) => void } }
      ).callbacks.onGoaway = (c, l) => resolve([c, l]);
    });
    const first = client.send({ method: "GET", path: "/" });
    const second = client.send({ method: "GET", path: "/" });
    expect(await goaway).toEqual([0, 1]);
    expect(await first).toMatchObject({ status: 200 });
    expect(await second).toEqual({ reset: ErrorCode.REFUSED_STREAM });
    // After GOAWAY no request goes out: refused at once, safe to retry elsewhere.
    expect(client.connection.canRequest).toBe(false);
    expect(await client.send({ method: "GET", path: "/" })).toEqual({ reset: ErrorCode.REFUSED_STREAM });
  });

  it("our client: informational heads (103) come before the final one, as node:http2's client sees", async () => {
    const server = http2.createServer();
    server.on("stream", (stream) => {
      stream.on("error", () => {});
      stream.additionalHeaders({ ":status": 103, link: "</a.css>; rel=preload" });
      stream.respond({ ":status": 200 }, { endStream: true });
    });
    const port = await serve(server);
    const client = await ourClient(port);
    defer(() => client.close());
    const heads: [string[], boolean][] = [];
    const stream = client.connection.request(
      [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x"],
      true,
    );
    stream.onHeaders = (fields, endStream) => heads.push([withoutDate(fields), endStream]);
    await new Promise<void>((resolve) => {
      stream.onEnd = () => resolve();
    });
    expect(heads).toEqual([
      [[":status", "103", "link", "</a.css>; rel=preload"], false],
      [[":status", "200"], true],
    ]);
    const session = http2.connect(`http://127.0.0.1:${port}`);
    defer(() => session.destroy());
    const req = session.request({ ":path": "/" });
    const seen = await new Promise<unknown[]>((resolve) => {
      const statuses: unknown[] = [];
      req.on("headers", (h) => statuses.push(h[":status"]));
      req.on("response", (h) => resolve([...statuses, h[":status"]]));
    });
    expect(seen).toEqual([103, 200]);
  });

  it("our client opens an extended CONNECT (RFC 8441) tunnel on node:http2 once it allows it", async () => {
    const server = http2.createServer({ settings: { enableConnectProtocol: true } });
    server.on("stream", (stream, headers) => {
      stream.on("error", () => {});
      stream.respond({ ":status": 200, "x-protocol": String(headers[":protocol"]) });
      stream.on("data", (c: Buffer) => stream.write(Buffer.from(c.toString().toUpperCase())));
      stream.on("end", () => stream.end());
    });
    const client = await ourClient(await serve(server));
    defer(() => client.close());
    await new Promise((r) => setTimeout(r, 50)); // the server's SETTINGS
    expect(client.connection.peerConnectProtocol).toBe(true);
    const stream = client.connection.request(
      [
        ":method",
        "CONNECT",
        ":protocol",
        "websocket",
        ":scheme",
        "http",
        ":path",
        "/chat",
        ":authority",
        "x",
      ],
      false,
    );
    const got: string[] = [];
    const done = new Promise<void>((resolve) => {
      stream.onHeaders = (f) => got.push(withoutDate(f).join(" "));
      stream.onData = (c) => got.push(c.toString());
      stream.onEnd = () => resolve();
    });
    stream.write(Buffer.from("hello"));
    stream.end();
    await done;
    expect(got).toEqual([":status 200 x-protocol websocket", "HELLO"]);
  });

  it("a stream reset by node:http2's client reaches our server's onReset", async () => {
    let resolveCode: (code: number) => void = () => {};
    const code = new Promise<number>((r) => {
      resolveCode = r;
    });
    const port = await serve(
      createH2cServer((stream) => {
        stream.onReset = resolveCode;
        stream.respond([":status", "200"]);
        stream.write(Buffer.from("partial"));
      }),
    );
    const session = http2.connect(`http://127.0.0.1:${port}`);
    defer(() => session.destroy());
    const req = session.request({ ":path": "/", ":method": "POST" });
    req.on("error", () => {});
    req.on("data", () => req.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    expect(await code).toBe(ErrorCode.INTERNAL_ERROR);
  });
});
