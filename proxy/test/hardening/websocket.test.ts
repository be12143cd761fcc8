/**
 * WebSocket tunnels under a peer that closes or half-closes (issue 9): the echo closing while the
 * client still sends, and a client that sends its last message then half-closes (FIN) and waits for
 * the answer. Loopback only, bounded: 30 tunnels, seconds.
 */
import net from "node:net";
import { describe, expect, it } from "vitest";
import { startEcho } from "../../../echo/server.js";
import { poll, waitUntil } from "../../../lib/wait.js";
import { useCleanup } from "../../../test-support/cleanup.js";
import { type TestProxy, useProxies } from "../http/helpers.js";

const proxies = useProxies();
const defer = useCleanup();

const WS_ROUTE = `- match: { prefix: "/" }
  route: { cluster: backend, upgrade_configs: [{ upgrade_type: websocket }] }`;

/** The echo (its own WebSocket echo on /ws) and a proxy in front of it; `hcmExtra` goes under the HCM. */
async function echoBehindProxy(hcmExtra = ""): Promise<TestProxy> {
  const echo = await startEcho({
    host: "127.0.0.1",
    port: 0,
    accessLog: false,
    defaultMetrics: false,
    drainTimeoutMs: 0,
  });
  defer(() => echo.close());
  return proxies.proxy(WS_ROUTE, { backend: echo.port }, { hcmExtra });
}

/** A masked client text frame (RFC 6455 5.2), payload under 126 bytes. */
function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  const out = Buffer.alloc(6 + payload.length);
  out[0] = 0x81;
  out[1] = 0x80 | payload.length;
  mask.copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = (payload[i] as number) ^ (mask[i % 4] as number);
  return out;
}

const UPGRADE =
  "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/**
 * Upgrades over raw TCP, sends one text message and half-closes (FIN) once the 101 is in, and
 * collects what comes back until the proxy closes (or 3 s pass): the bytes after the 101.
 */
function messageThenFin(port: number, text: string): Promise<{ after101: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    let received = Buffer.alloc(0);
    let sent = false;
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      const head = received.indexOf("\r\n\r\n");
      resolve({ after101: head === -1 ? Buffer.alloc(0) : received.subarray(head + 4), closed });
    };
    const timer = setTimeout(() => done(false), 3000);
    socket.on("connect", () => socket.write(UPGRADE));
    socket.on("data", (d: Buffer) => {
      received = Buffer.concat([received, d]);
      if (!sent && received.includes("\r\n\r\n")) {
        sent = true;
        socket.end(clientFrame(text));
      }
    });
    socket.on("error", () => done(true));
    socket.on("close", () => done(true));
  });
}

describe("WebSocket tunnels when a peer closes (issue 9)", () => {
  it("the upstream closes 30 WebSockets (FIN, then close) while their clients still send: both legs of every tunnel close within ~1 s", async () => {
    // Each upstream WebSocket answers 101 and reads whatever comes; once the 30 are up, each closes its
    // side (FIN), then the socket 50 ms later, as a WebSocket server ends a connection.
    const accepted: net.Socket[] = [];
    const upstream = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.on("error", () => undefined);
      socket.once("data", () => {
        socket.write(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
        );
        socket.resume();
        accepted.push(socket);
      });
    });
    const u = await proxies.serve(upstream);
    const p = await proxies.proxy(WS_ROUTE, { backend: u.port }, { hcmExtra: "stream_idle_timeout: 0s" });
    const clients: net.Socket[] = [];
    const pumps: NodeJS.Timeout[] = [];
    defer(() => {
      for (const t of pumps) clearInterval(t);
      for (const c of clients) c.destroy();
    });
    for (let i = 0; i < 30; i++) {
      // Half-open: the proxy's FIN does not stop the client; it goes on sending until closed.
      const socket = net.connect({ port: p.port, host: "127.0.0.1", allowHalfOpen: true });
      socket.on("error", () => undefined);
      clients.push(socket);
      await new Promise<void>((resolve) => {
        socket.on("connect", () => socket.write(UPGRADE));
        socket.once("data", () => resolve());
      });
      socket.resume();
      // The client keeps sending, whatever comes back.
      pumps.push(
        setInterval(() => {
          if (!socket.destroyed && !socket.writableEnded) socket.write(clientFrame("x".repeat(100)));
        }, 20),
      );
    }
    expect(p.stat("http.ingress.downstream_cx_upgrades_active")).toBe(30);
    const start = performance.now();
    for (const socket of accepted) socket.end();
    setTimeout(() => {
      for (const socket of accepted) socket.destroy();
    }, 50);
    const left = await poll(
      () => p.stat("http.ingress.downstream_cx_active"),
      (n) => n === 0,
      { withinMs: 4000, intervalMs: 20 },
    );
    expect(`${left} downstream connections left`).toBe("0 downstream connections left");
    expect(performance.now() - start).toBeLessThan(1200);
    expect(p.stat("http.ingress.downstream_cx_upgrades_active")).toBe(0);
    expect(p.stat("cluster.backend.upstream_cx_active")).toBe(0);
  });

  it("a client sends a message then half-closes (FIN): the echo's reply arrives, then the tunnel closes (4 of 4)", async () => {
    const p = await echoBehindProxy();
    for (let i = 0; i < 4; i++) {
      const { after101, closed } = await messageThenFin(p.port, `last words ${i}`);
      // The echo's frame: unmasked text, the same payload.
      expect(after101.subarray(0, 2 + `last words ${i}`.length).toString("latin1")).toBe(
        `\x81${String.fromCharCode(`last words ${i}`.length)}last words ${i}`,
      );
      expect(closed).toBe(true);
    }
    await waitUntil("no tunnel left", () => p.stat("http.ingress.downstream_cx_upgrades_active") === 0);
  });
});
