/**
 * The client side of an upgrade (lib/http1/upgrade_client.ts) against a raw TCP upstream that answers
 * with bytes written by hand, in pieces: what reaches the upstream, and what the caller gets (the 101's
 * headers as sent and the tunnel's first bytes; a refusal's status, headers and body; the failures).
 */
import net, { type AddressInfo, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ignoreErrorHandledOnClose, ignoreErrorUntilHandedOver } from "../../errors.js";
import { type UpgradeAnswer, type UpgradeFailure, upgradeRequest } from "../../http1/upgrade_client.js";

const servers: net.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

interface Outcome {
  failure: UpgradeFailure | null;
  answer: UpgradeAnswer | null;
  /** The request as the upstream read it (up to the end of its head). */
  request: Promise<string>;
  upstream: Socket;
}

/** Connect to an upstream that writes `pieces` (one write each, a tick apart) once the request head is in. */
async function exchange(pieces: string[], endAfter = false): Promise<Outcome> {
  let upstream: Socket | null = null;
  let gotRequest: (text: string) => void = () => {};
  const request = new Promise<string>((resolve) => {
    gotRequest = resolve;
  });
  const server = net.createServer((socket) => {
    upstream = socket;
    socket.on("error", ignoreErrorHandledOnClose);
    let text = "";
    socket.on("data", async (d: Buffer) => {
      const was = text;
      text += d.toString("latin1");
      if (was.includes("\r\n\r\n") || !text.includes("\r\n\r\n")) return;
      gotRequest(text);
      for (const piece of pieces) {
        socket.write(piece, "latin1");
        await new Promise((r) => setTimeout(r, 5));
      }
      if (endAfter) socket.end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", ignoreErrorHandledOnClose);
  await new Promise((r) => socket.once("connect", r));
  const result = await new Promise<{ failure: UpgradeFailure | null; answer: UpgradeAnswer | null }>(
    (resolve) =>
      upgradeRequest(
        socket,
        {
          method: "GET",
          path: "/ws",
          headers: ["host", "svc", "upgrade", "websocket", "connection", "upgrade"],
        },
        ignoreErrorUntilHandedOver,
        (failure, answer) => resolve({ failure, answer }),
      ),
  );
  return { ...result, request, upstream: upstream as unknown as Socket };
}

function readAll(body: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    body.on("data", (d: Buffer) => {
      text += d.toString("latin1");
    });
    body.on("end", () => resolve(text));
    body.on("error", reject);
  });
}

describe("upgrade client", () => {
  it("writes the request as given and hands the socket over at the 101, with the bytes after its head", async () => {
    const out = await exchange([
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching",
      " Protocols\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nX-A:  b \r\n\r\nfirst",
    ]);
    expect(await out.request).toBe(
      "GET /ws HTTP/1.1\r\nhost: svc\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n",
    );
    const answer = out.answer;
    if (answer === null || !answer.upgraded) throw new Error("not upgraded");
    expect(answer.rawHeaders).toEqual(["Upgrade", "WebSocket", "Connection", "Upgrade", "X-A", "b"]);
    expect(answer.head.toString()).toBe("first");
    // The socket is the caller's: bytes both ways, and the upstream's FIN ends only its direction.
    const got = readAll(answer.socket);
    out.upstream.end("more");
    expect(await got).toBe("more");
    answer.socket.end("after");
    const late = await new Promise<string>((resolve) => {
      let text = "";
      out.upstream.on("data", (d: Buffer) => {
        text += d.toString();
      });
      out.upstream.on("end", () => resolve(text));
    });
    expect(late).toBe("after");
  });

  it("returns another final answer with its chunked body, then closes the connection", async () => {
    const out = await exchange([
      "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n3\r\nb",
      "ad\r\n",
      "4\r\n!!!!\r\n0\r\n\r\n",
    ]);
    const answer = out.answer;
    if (answer === null || answer.upgraded) throw new Error("upgraded");
    expect(answer.status).toBe(400);
    expect(answer.headers).toEqual(["content-type", "text/plain"]);
    expect(await readAll(answer.body)).toBe("bad!!!!");
    await new Promise((r) => out.upstream.once("close", r));
  });

  it("reads a refusal's body by its length, or until the upstream closes", async () => {
    const byLength = await exchange(["HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nab", "cdeIGNORED"]);
    if (byLength.answer === null || byLength.answer.upgraded) throw new Error("upgraded");
    expect(await readAll(byLength.answer.body)).toBe("abcde");
    const untilClose = await exchange(["HTTP/1.1 403 Forbidden\r\n\r\nno", " way"], true);
    if (untilClose.answer === null || untilClose.answer.upgraded) throw new Error("upgraded");
    expect(await readAll(untilClose.answer.body)).toBe("no way");
  });

  it("fails a refusal's body cut before its length", async () => {
    const out = await exchange(["HTTP/1.1 404 Not Found\r\nContent-Length: 50\r\n\r\nab"], true);
    if (out.answer === null || out.answer.upgraded) throw new Error("upgraded");
    await expect(readAll(out.answer.body)).rejects.toMatchObject({ code: "ECONNRESET" });
  });

  it("fails with a protocol error on a malformed answer, and as closed when the upstream leaves first", async () => {
    const malformed = await exchange(["HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n"]);
    expect(malformed.failure?.kind).toBe("protocol");
    expect(malformed.answer).toBeNull();
    const closed = await exchange(["HTTP/1.1 101 Switch"], true);
    expect(closed.failure?.kind).toBe("closed");
  });
});
