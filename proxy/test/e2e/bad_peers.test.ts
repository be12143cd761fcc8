/**
 * Bad peers against the front proxy (codec auto: HTTP/1.1 and h2c on one port) and the sidecar:
 * each is answered with 400 or a close, the process stays up, serves the next request, and the
 * connections they opened are gone afterwards.
 */
import http2 from "node:http2";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { poll, sleep } from "../../../lib/wait.js";
import { type RawReply, raw } from "../../../test-support/http.js";
import { reaches, useMesh } from "./harness.js";

const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const mesh = useMesh();
const WITHIN = { withinMs: 15_000, intervalMs: 100 };

/** A 400 status line, or a close without a response. */
function rejected(r: RawReply): boolean {
  return /^HTTP\/1\.[01] 400/.test(r.text) || (r.text === "" && r.closedByPeer);
}

describe("bad peers", () => {
  for (const target of ["front", "sidecar"] as const) {
    describe(`on the ${target}`, () => {
      const port = (): number => mesh[target].port;

      it("garbage bytes: 400 or close", async () => {
        for (const junk of [
          Buffer.from("\x00\x01\x02\xff\xfe garbage\r\n\r\n", "latin1"),
          "GET / HTTP/1.1\r\nhost: x\r\nbad header line\r\n\r\n",
          "GET / HTTP/9.9\r\n\r\n",
          "GET / HTTP/1.1\r\ncontent-length: 5\r\ncontent-length: 6\r\nhost: x\r\n\r\nhello",
        ]) {
          const r = await raw(port(), junk, { withinMs: 5000 });
          expect(rejected(r), JSON.stringify(r.text.slice(0, 80))).toBe(true);
        }
        await mesh[target].expectServing();
      });

      it("a truncated h2 preface, then close", async () => {
        const r = await raw(port(), PREFACE.slice(0, 10), { withinMs: 500, endAfterMs: 0 });
        expect(r.text.startsWith("HTTP/1.1 2")).toBe(false);
        await mesh[target].expectServing();
      });

      it("h2 frame garbage after the preface: GOAWAY and close", async () => {
        const junk = Buffer.concat([
          Buffer.from(PREFACE),
          Buffer.from("\x00\x00\x04\x08\x00\xff\xff\xff\xff", "latin1"),
          Buffer.alloc(64, 0xee),
        ]);
        const r = await raw(port(), junk, { withinMs: 5000 });
        expect(r.closedByPeer).toBe(true);
        await mesh[target].expectServing();
      });

      it("headers, then the client disappears (h1 and h2)", async () => {
        const s = net.connect({ host: "127.0.0.1", port: port() });
        s.on("error", () => {});
        await new Promise<void>((r) => s.on("connect", () => r()));
        s.write("POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\n\r\npartial");
        await sleep(200);
        s.destroy();
        const session = http2.connect(`http://127.0.0.1:${port()}`);
        session.on("error", () => {});
        const stream = session.request({ ":method": "POST", ":path": "/echo", "content-length": "100000" });
        stream.on("error", () => {});
        stream.write("partial");
        await sleep(200);
        session.destroy();
        await mesh[target].expectServing();
      });

      it("half-open: the client sends a request and shuts its side", async () => {
        const r = await raw(port(), "GET / HTTP/1.1\r\nhost: x\r\n\r\n", { withinMs: 5000, endAfterMs: 0 });
        // Answered or closed; either way the proxy neither hangs the socket forever nor crashes.
        expect(r.closedByPeer || r.text.startsWith("HTTP/1.1 200")).toBe(true);
        await mesh[target].expectServing();
      });
    });
  }

  it("a slow client that stops reading a large response does not stall others or grow memory", async () => {
    const { front } = mesh;
    const rss0 = front.rss();
    const socket = net.connect({ host: "127.0.0.1", port: front.port });
    socket.on("error", () => {});
    await new Promise<void>((r) => socket.on("connect", () => r()));
    socket.write("GET /?echo_size=60m HTTP/1.1\r\nhost: x\r\n\r\n");
    let got = 0;
    socket.on("data", (c: Buffer) => {
      got += c.length;
      if (got > 64 * 1024) socket.pause();
    });
    await sleep(3000);
    expect(got).toBeLessThan(60 * 1024 * 1024);
    // Others are served meanwhile, over the same h2c session to the sidecar.
    for (let i = 0; i < 5; i++) await front.expectServing();
    const growthMb = (front.rss() - rss0) / 1024 / 1024;
    console.log(
      `slow reader: ${(got / 1024).toFixed(0)} KiB read of 60 MiB, front RSS +${growthMb.toFixed(0)} MB`,
    );
    expect(growthMb).toBeLessThan(50);
    socket.destroy();
    expect(await reaches(() => front.stat("http.front.downstream_cx_active"), 0)).toBe(0);
    expect(await reaches(() => front.stat("cluster.sidecar.upstream_rq_active"), 0)).toBe(0);
    await front.expectServing();
  }, 30_000);

  it("afterwards: no connection or descriptor is left behind", async () => {
    for (const name of ["front", "sidecar"] as const) {
      const p = mesh[name];
      // The sidecar keeps the front's h2c session; the front keeps its sessions/keep-alive pools.
      const kept = name === "sidecar" ? 1 : 0;
      const cx = await poll(
        () => p.stat(`http.${name}.downstream_cx_active`),
        (v) => v <= kept,
        WITHIN,
      );
      expect(cx).toBeLessThanOrEqual(kept);
      expect(await reaches(() => p.stat(`http.${name}.downstream_rq_active`), 0)).toBe(0);
      await mesh.expectFdsBack(name);
    }
  });
});
