/**
 * Handing a connection from the server codec (lib/http1/server_connection.ts) to another server: the
 * bytes it gives back are the ones the client sent, from the head on (`detach(true)`), after the head
 * (`detach()`, upgrades), or from a refused head's first byte (`onCodecError`).
 */
import net, { type AddressInfo, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ignoreErrorHandledOnClose } from "../../errors.js";
import {
  type CodecError,
  type H1Connection,
  type H1Handler,
  H1Server,
  type RequestHead,
} from "../../http1/server_connection.js";

const OPTIONS = {
  maxHeadBytes: 1024,
  maxHeadersCount: 100,
  idleTimeoutMs: 0,
  headersTimeoutMs: 0,
  streamIdleTimeoutMs: 0,
  requestTimeoutMs: 0,
};

interface Seen {
  head?: RequestHead;
  bytes?: string;
  error?: CodecError;
  /** What the socket delivered after the hand-over (the new owner's reads). */
  after: string;
}

const servers: net.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A server whose codec hands each connection over as `how` says; resolves with what it saw. */
async function handOver(send: string, how: (conn: H1Connection) => Buffer): Promise<Seen> {
  const seen: Seen = { after: "" };
  let settle: () => void = () => undefined;
  const done = new Promise<void>((r) => {
    settle = r;
  });
  const take = (socket: Socket, bytes: Buffer): void => {
    seen.bytes = bytes.toString("latin1");
    socket.on("data", (d: Buffer) => {
      seen.after += d.toString("latin1");
    });
    socket.resume();
    setTimeout(settle, 100);
  };
  const handler: H1Handler = {
    onRequest(conn, head) {
      seen.head = head;
      take(conn.socket, how(conn));
    },
    onUpgrade(conn, head, rest) {
      seen.head = head;
      take(conn.socket, rest);
    },
    onCodecError(socket, error, read) {
      seen.error = error;
      socket.pause();
      take(socket, read);
    },
    onIdleTimeout() {
      settle();
    },
  };
  const h1 = new H1Server(handler, OPTIONS);
  const server = net.createServer((socket) => {
    socket.on("error", ignoreErrorHandledOnClose);
    h1.emit("connection", socket);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const client = net.connect((server.address() as AddressInfo).port, "127.0.0.1");
  client.on("error", ignoreErrorHandledOnClose);
  // The head and what follows in one write, then more bytes in a later one.
  client.write(send);
  setTimeout(() => client.write("LATER"), 30);
  await done;
  client.destroy();
  return seen;
}

const FIRST = "\r\nPOST /a HTTP/1.1\r\nHost:  h \r\nContent-Length: 3\r\n\r\nabc";
const SECOND = "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";

describe("handing a connection over", () => {
  it("detach(true): the request as sent (from its request line), what was pipelined, then later reads", async () => {
    const seen = await handOver(FIRST + SECOND, (conn) => conn.detach(true));
    expect(seen.head?.target).toBe("/a");
    expect(seen.bytes).toBe(FIRST.slice(2) + SECOND);
    expect(seen.after).toBe("LATER");
  });

  it("detach(): the bytes after the head", async () => {
    const seen = await handOver(FIRST + SECOND, (conn) => conn.detach());
    expect(seen.bytes).toBe(`abc${SECOND}`);
    expect(seen.after).toBe("LATER");
  });

  it("an upgrade hands over the bytes after its head", async () => {
    const seen = await handOver(
      "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nframes",
      (conn) => conn.detach(),
    );
    expect(seen.head?.upgrade).toBe("websocket");
    expect(seen.bytes).toBe("frames");
    expect(seen.after).toBe("LATER");
  });

  it("a refused head: the bytes from its first byte on", async () => {
    const bad = "GET  /x HTTP/1.1\r\nHost: h\r\n\r\nrest";
    const seen = await handOver(bad, (conn) => conn.detach(true));
    expect(seen.error).toBe("bad_request");
    expect(seen.bytes).toBe(bad);
    expect(seen.after).toBe("LATER");
  });
});
