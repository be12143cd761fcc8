import net, { type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { decide, H2_PREFACE, type SniffedProtocol, sniff } from "../../lib/h2c_sniff.js";

/** A TCP server on loopback that sniffs each connection with `timeoutMs` and records the outcome. */
async function sniffServer(timeoutMs: number) {
  const decided: Array<{ protocol: SniffedProtocol; peeked: string }> = [];
  const closed: boolean[] = [];
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.on("close", () => closed.push(true));
    sniff(socket, timeoutMs, (protocol, peeked) => {
      decided.push({ protocol, peeked: peeked.toString("latin1") });
      socket.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as AddressInfo).port, decided, closed };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => resolve(s));
    s.on("error", reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ended = (s: net.Socket) => new Promise((r) => s.once("close", r));

let current: net.Server | undefined;
afterEach(async () => {
  await new Promise((r) => current?.close(r) ?? r(undefined));
  current = undefined;
});

describe("h2c preface sniff (lib/h2c_sniff.ts)", () => {
  it("decides at the first differing byte and on the whole preface", () => {
    expect(decide(Buffer.from("GET / HTTP/1.1\r\n"))).toBe("http1");
    expect(decide(Buffer.from("PRI * HTTP/1.1"))).toBe("http1");
    expect(decide(H2_PREFACE.subarray(0, 10))).toBeNull();
    expect(decide(H2_PREFACE)).toBe("http2");
  });

  it("waits for a preface split over several writes and hands back every byte read", async () => {
    const t = await sniffServer(0);
    current = t.server;
    const c = await connect(t.port);
    c.write(H2_PREFACE.subarray(0, 5));
    await sleep(50);
    expect(t.decided).toEqual([]);
    c.write(Buffer.concat([H2_PREFACE.subarray(5), Buffer.from("frames")]));
    await ended(c);
    expect(t.decided).toEqual([{ protocol: "http2", peeked: `${H2_PREFACE.toString("latin1")}frames` }]);
  });

  it("hands HTTP/1.1 over with the bytes read", async () => {
    const t = await sniffServer(0);
    current = t.server;
    const c = await connect(t.port);
    c.write("GET / HTTP/1.1\r\n");
    await ended(c);
    expect(t.decided).toEqual([{ protocol: "http1", peeked: "GET / HTTP/1.1\r\n" }]);
  });

  it("destroys a connection that stays silent past the timeout, without deciding", async () => {
    const t = await sniffServer(100);
    current = t.server;
    const c = await connect(t.port);
    c.write(H2_PREFACE.subarray(0, 3));
    await ended(c);
    expect(t.decided).toEqual([]);
  });

  it("destroys a connection that ends mid-preface, without deciding", async () => {
    const t = await sniffServer(0);
    current = t.server;
    const c = await connect(t.port);
    c.end(H2_PREFACE.subarray(0, 3));
    await ended(c);
    await sleep(20);
    expect(t.decided).toEqual([]);
    expect(t.closed).toEqual([true]);
  });
});
