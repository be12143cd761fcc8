import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { Duplex, PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { freePort } from "../../../lib/net.js";
import { sleep, waitUntil } from "../../../lib/wait.js";
import { connections } from "../../../test-support/servers.js";
import { TunnelError, type TunnelResult, type UpstreamRequest } from "../../api/upstream.js";
import { splice } from "../../conn_pool/splice.js";
import { header, usePools } from "./helpers.js";

const { makePool, serve } = usePools();

const wsRequest: UpstreamRequest = {
  method: "GET",
  path: "/ws",
  authority: "svc:80",
  headers: ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version", "13"],
  body: null,
};

/** An HTTP/1.1 server that upgrades /ws and echoes bytes back upper-cased; 404 elsewhere. */
async function h1UpgradeServer() {
  const server = http.createServer((_req, res) => {
    res.statusCode = 404;
    res.end("no");
  });
  const seen: http.IncomingMessage[] = [];
  server.on("upgrade", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    seen.push(req);
    socket.on("error", () => {});
    if (req.url !== "/ws") {
      socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbad");
      return;
    }
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello",
    );
    if (head.length > 0) socket.write(head.toString().toUpperCase());
    socket.on("data", (d: Buffer) => socket.write(d.toString().toUpperCase()));
    socket.on("end", () => socket.end());
  });
  const port = await serve(server);
  return { server, port, seen };
}

function readSome(stream: Duplex, want: string): Promise<string> {
  return new Promise((resolve) => {
    let got = "";
    const onData = (d: Buffer) => {
      got += d.toString();
      if (got.includes(want)) {
        stream.off("data", onData);
        resolve(got);
      }
    };
    stream.on("data", onData);
  });
}

/** The status and body of an answer that was not an upgrade (an upgrade fails the test). */
async function notUpgraded(result: TunnelResult): Promise<{ status: number; body: string }> {
  if (result.upgraded) throw new Error(`upgraded with status ${result.status}`);
  const chunks: Buffer[] = [];
  for await (const c of result.body) chunks.push(c as Buffer);
  return { status: result.status, body: Buffer.concat(chunks).toString() };
}

async function roundTrip(result: TunnelResult): Promise<void> {
  expect(result.upgraded).toBe(true);
  if (!result.upgraded) return;
  expect(result.status).toBe(101);
  const first = result.head.toString();
  const more = first.includes("hello") ? first : first + (await readSome(result.stream, "hello"));
  expect(more).toContain("hello");
  const echoed = readSome(result.stream, "PING");
  result.stream.write("ping");
  expect(await echoed).toContain("PING");
}

describe("tunnels", () => {
  it("upgrades over a dedicated HTTP/1.1 connection, adding upgrade/connection last when absent (RFC 8441 client)", async () => {
    const { server, port, seen } = await h1UpgradeServer();
    const t = makePool(port);
    const result = await t.pool.tunnel(wsRequest, "websocket");
    await roundTrip(result);
    const req = seen[0] as http.IncomingMessage;
    expect(req.headers.upgrade).toBe("websocket");
    expect(req.headers.connection).toBe("upgrade");
    expect(req.headers.host).toBe("svc:80");
    expect(req.headers["sec-websocket-key"]).toBe("dGhlIHNhbXBsZSBub25jZQ==");
    expect(req.rawHeaders.slice(-4)).toEqual(["upgrade", "websocket", "connection", "upgrade"]);
    if (result.upgraded) {
      // The 101's own upgrade/connection stay (Envoy keeps them; an h2 client's stream drops them).
      expect(header(result.headers, "upgrade")).toEqual(["websocket"]);
      result.stream.destroy();
    }
    await waitUntil("the server has no connection", async () => (await connections(server)) === 0);
    expect(t.host.stats.cx_active).toBe(0);
  });

  it("hands the upgraded socket over half-open: the upstream's FIN ends only its direction", async () => {
    const server = http.createServer();
    const late: string[] = [];
    server.on("upgrade", (_req: http.IncomingMessage, socket: net.Socket) => {
      socket.on("error", () => {});
      socket.end("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nbye");
      socket.on("data", (d: Buffer) => late.push(d.toString()));
    });
    const t = makePool(await serve(server));
    const result = await t.pool.tunnel(wsRequest, "websocket");
    if (!result.upgraded) throw new Error("not upgraded");
    result.stream.resume();
    await new Promise((resolve) => result.stream.once("end", resolve));
    result.stream.end("after the FIN");
    await waitUntil("the upstream gets what came after its FIN", () => late.join("") === "after the FIN");
  });

  it("returns a non-101 answer as an ordinary response and closes its connection", async () => {
    const { server, port } = await h1UpgradeServer();
    const t = makePool(port);
    expect(await notUpgraded(await t.pool.tunnel({ ...wsRequest, path: "/other" }, "websocket"))).toEqual({
      status: 400,
      body: "bad",
    });
    await waitUntil("the server has no connection", async () => (await connections(server)) === 0);
  });

  it("rejects with TunnelError connection failure when the port refuses", async () => {
    const port = await freePort();
    const t = makePool(port);
    const err = await t.pool.tunnel(wsRequest, "websocket").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TunnelError);
    expect((err as TunnelError).reason).toBe("connection failure");
  });

  it("uses RFC 8441 extended CONNECT when the h2 peer enables it", async () => {
    const server = http2.createServer({ settings: { enableConnectProtocol: true } });
    let seen: http2.IncomingHttpHeaders = {};
    server.on("stream", (stream, headers) => {
      seen = headers;
      stream.on("error", () => {});
      stream.respond({ ":status": 200, "sec-websocket-protocol": "chat" });
      stream.write("hello");
      stream.on("data", (d: Buffer) => stream.write(d.toString().toUpperCase()));
      stream.on("end", () => stream.end());
    });
    const sessions = new Set<http2.ServerHttp2Session>();
    server.on("session", (s) => {
      sessions.add(s);
      s.on("close", () => sessions.delete(s));
    });
    const port = await serve(server);
    const t = makePool(port, { protocol: "http2" });
    const result = await t.pool.tunnel(
      { ...wsRequest, headers: [...wsRequest.headers, "content-length", "0"] },
      "websocket",
    );
    await roundTrip(result);
    expect(seen[":method"]).toBe("CONNECT");
    expect(seen[":protocol"]).toBe("websocket");
    expect(seen[":path"]).toBe("/ws");
    expect(seen[":authority"]).toBe("svc:80");
    expect(seen["content-length"]).toBeUndefined();
    expect(seen["sec-websocket-key"]).toBe("dGhlIHNhbXBsZSBub25jZQ==");
    if (result.upgraded) {
      expect(header(result.headers, "sec-websocket-protocol")).toEqual(["chat"]);
      result.stream.end();
    }
    expect(t.stat("upstream_cx_http1_total")).toBe(0);
    await t.pool.drain();
    await waitUntil("the session closes", () => sessions.size === 0);
  });

  it("reports a non-200 answer to extended CONNECT as not upgraded", async () => {
    const server = http2.createServer({ settings: { enableConnectProtocol: true } });
    server.on("stream", (stream) => {
      stream.respond({ ":status": 403 });
      stream.end("denied");
    });
    const port = await serve(server);
    const t = makePool(port, { protocol: "http2" });
    expect(await notUpgraded(await t.pool.tunnel(wsRequest, "websocket"))).toEqual({
      status: 403,
      body: "denied",
    });
  });

  it("h2 peer without extended CONNECT: v3 fails (connection termination), v2 falls back to an HTTP/1.1 upgrade", async () => {
    // One port that speaks h2c prior knowledge and HTTP/1.1, like the sidecar's auto codec.
    const h1 = http.createServer();
    const h2 = http2.createServer();
    h2.on("stream", (stream) => {
      stream.respond({ ":status": 200 });
      stream.end();
    });
    let upgrades = 0;
    h1.on("upgrade", (_req: http.IncomingMessage, socket: net.Socket) => {
      upgrades++;
      socket.on("error", () => {});
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhello",
      );
      socket.on("data", (d: Buffer) => socket.write(d.toString().toUpperCase()));
      socket.on("end", () => socket.end());
    });
    const front = net.createServer((socket) => {
      socket.once("readable", () => {
        const peek = socket.read(3) as Buffer | null;
        if (peek === null) return;
        socket.unshift(peek);
        if (peek.toString() === "PRI") h2.emit("connection", socket);
        else h1.emit("connection", socket);
      });
    });
    const port = await serve(front);
    const t = makePool(port, { protocol: "http2" });
    // v3 (Envoy 1.40): no fallback; the tunnel fails as Envoy's does against a peer without allow_connect.
    const refused = await t.pool.tunnel(wsRequest, "websocket").then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(TunnelError);
    expect((refused as TunnelError).reason).toBe("connection termination");
    expect(upgrades).toBe(0);
    // v2 (Envoy of 2018): a raw HTTP/1.1 upgrade on a connection of its own.
    const result = await t.pool.tunnel(wsRequest, "websocket", true);
    await roundTrip(result);
    expect(upgrades).toBe(1);
    expect(t.stat("upstream_cx_http2_total")).toBe(1);
    expect(t.stat("upstream_cx_http1_total")).toBe(1);
    if (result.upgraded) result.stream.destroy();
  });
});

/** A pair of connected in-memory duplexes (like a socket and its peer). */
function duplexPair(): [Duplex, Duplex] {
  const ab = new PassThrough();
  const ba = new PassThrough();
  const make = (read: PassThrough, write: PassThrough): Duplex =>
    new Duplex({
      read() {
        read.resume();
      },
      write(chunk, _enc, cb) {
        write.write(chunk, cb);
      },
      final(cb) {
        write.end();
        cb();
      },
    });
  const a = make(ba, ab);
  const b = make(ab, ba);
  ab.on("data", (c) => b.push(c));
  ab.on("end", () => b.push(null));
  ba.on("data", (c) => a.push(c));
  ba.on("end", () => a.push(null));
  return [a, b];
}

describe("splice", () => {
  it("pipes both ways and propagates a half-close", async () => {
    const [client, downstream] = duplexPair();
    const [upstream, server] = duplexPair();
    let closed = 0;
    splice(downstream, upstream, { idleTimeoutMs: 0, onClose: () => closed++ });
    server.on("data", (d: Buffer) => server.write(d.toString().toUpperCase()));
    const echoed = readSome(client, "ABC");
    client.write("abc");
    expect(await echoed).toBe("ABC");
    const serverEnded = new Promise((r) => server.once("end", r));
    client.end();
    await serverEnded;
    // The other direction still works after the half-close.
    const late = readSome(client, "late");
    server.write("late");
    expect(await late).toBe("late");
    server.end();
    await waitUntil("splice reports the close", () => closed === 1);
    expect(downstream.destroyed && upstream.destroyed).toBe(true);
  });

  it("destroys both sides when one errors", async () => {
    const [, downstream] = duplexPair();
    const [upstream] = duplexPair();
    splice(downstream, upstream, { idleTimeoutMs: 0 });
    upstream.destroy(new Error("ECONNRESET"));
    await waitUntil("the downstream is destroyed", () => downstream.destroyed);
  });

  it("destroys both sides after the idle timeout and not before traffic stops", async () => {
    const [client, downstream] = duplexPair();
    const [upstream, server] = duplexPair();
    server.resume();
    splice(downstream, upstream, { idleTimeoutMs: 150 });
    for (let i = 0; i < 4; i++) {
      client.write("x");
      await sleep(60);
    }
    expect(downstream.destroyed).toBe(false);
    await waitUntil("both sides are destroyed", () => downstream.destroyed && upstream.destroyed, {
      withinMs: 2000,
    });
  });

  it("a side that closed after its end leaves the other neither open nor paused: it closes once flushed", async () => {
    const [client, downstream] = duplexPair();
    const [upstream, server] = duplexPair();
    const events: string[] = [];
    splice(downstream, upstream, {
      idleTimeoutMs: 0,
      onAbort: () => events.push("abort"),
      onClose: () => events.push("close"),
    });
    server.resume();
    const got = readSome(client, "last");
    server.end("last");
    expect(await got).toBe("last");
    // The upstream is gone (its end came first) while the client still sends.
    upstream.destroy();
    const pump = setInterval(() => client.write("more"), 2);
    await waitUntil("the downstream closes", () => downstream.destroyed).finally(() => clearInterval(pump));
    expect(events).toEqual(["close"]);
  });

  it("onAbort names the side that failed (an error, or a close before its end)", async () => {
    const [, downstream] = duplexPair();
    const [upstream] = duplexPair();
    const aborted: Duplex[] = [];
    splice(downstream, upstream, { idleTimeoutMs: 0, onAbort: (side) => aborted.push(side) });
    upstream.destroy();
    await waitUntil("both are destroyed", () => downstream.destroyed);
    expect(aborted).toEqual([upstream]);
  });

  it("joins real sockets and leaves none open", async () => {
    const server = net.createServer((s) => {
      s.on("error", () => {});
      s.pipe(s);
    });
    const port = await serve(server);
    const up = net.connect(port, "127.0.0.1");
    const [client, downstream] = duplexPair();
    up.on("error", () => {});
    splice(downstream, up, { idleTimeoutMs: 0 });
    const echoed = readSome(client, "hi");
    client.write("hi");
    expect(await echoed).toBe("hi");
    client.destroy();
    downstream.destroy();
    await waitUntil("the server has no connection", async () => (await connections(server)) === 0);
  });
});
