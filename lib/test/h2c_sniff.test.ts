import net, { type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { decide, H2_PREFACE, type SniffedProtocol, sniff } from "../h2c_sniff.js";
import { sleep } from "../wait.js";

let current: net.Server | undefined;
afterEach(async () => {
  await new Promise((r) => current?.close(r) ?? r(undefined));
  current = undefined;
});

/**
 * A TCP server on loopback (closed after the test) that sniffs each connection with `timeoutMs` and
 * records the outcome, and a client `c` connected to it.
 */
async function sniffed(timeoutMs: number) {
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
  current = server;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const c = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect((server.address() as AddressInfo).port, "127.0.0.1", () => resolve(s));
    s.on("error", reject);
  });
  return { c, decided, closed };
}

const ended = (s: net.Socket) => new Promise((r) => s.once("close", r));

describe("h2c preface sniff (lib/h2c_sniff.ts)", () => {
  it("decides at the first differing byte and on the whole preface", () => {
    expect(decide(Buffer.from("GET / HTTP/1.1\r\n"))).toBe("http1");
    expect(decide(Buffer.from("PRI * HTTP/1.1"))).toBe("http1");
    expect(decide(H2_PREFACE.subarray(0, 10))).toBeNull();
    expect(decide(H2_PREFACE)).toBe("http2");
  });

  it("waits for a preface split over several writes and hands back every byte read", async () => {
    const { c, ...t } = await sniffed(0);
    c.write(H2_PREFACE.subarray(0, 5));
    await sleep(50);
    expect(t.decided).toEqual([]);
    c.write(Buffer.concat([H2_PREFACE.subarray(5), Buffer.from("frames")]));
    await ended(c);
    expect(t.decided).toEqual([{ protocol: "http2", peeked: `${H2_PREFACE.toString("latin1")}frames` }]);
  });

  it("hands HTTP/1.1 over with the bytes read", async () => {
    const { c, ...t } = await sniffed(0);
    c.write("GET / HTTP/1.1\r\n");
    await ended(c);
    expect(t.decided).toEqual([{ protocol: "http1", peeked: "GET / HTTP/1.1\r\n" }]);
  });

  it("destroys a connection that stays silent past the timeout, without deciding", async () => {
    const { c, ...t } = await sniffed(100);
    c.write(H2_PREFACE.subarray(0, 3));
    await ended(c);
    expect(t.decided).toEqual([]);
  });

  it("destroys a connection that ends mid-preface, without deciding", async () => {
    const { c, ...t } = await sniffed(0);
    c.end(H2_PREFACE.subarray(0, 3));
    await ended(c);
    await sleep(20);
    expect(t.decided).toEqual([]);
    expect(t.closed).toEqual([true]);
  });
});
