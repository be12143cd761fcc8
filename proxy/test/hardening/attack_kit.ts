/**
 * What the HTTP/2 and pool attacks share: an HTTP/1.1 upstream that counts what reaches it, a probe
 * client that measures another user's latency during an attack (raw HTTP/2 frames for clients that
 * misbehave on purpose: lib/h2_frames.ts).
 */
import http from "node:http";
import type net from "node:net";
import { sleep } from "../../../lib/wait.js";
import { request } from "../../../test-support/http.js";

/** What reached a counting upstream. */
export interface UpstreamCounts {
  /** TCP connections accepted. */
  accepted: number;
  /** Requests received. */
  requests: number;
  /** Requests being answered now. */
  active: number;
  /** The most requests answered at once. */
  maxActive: number;
  /** Requests whose connection closed before the answer was sent (cancelled by the proxy). */
  aborted: number;
}

export interface CountingUpstream {
  port: number;
  server: http.Server;
  counts: UpstreamCounts;
  /** Destroys every connection it accepted and closes it. */
  close(): Promise<void>;
}

/**
 * An HTTP/1.1 upstream on 127.0.0.1 answering `200 ok` after `?delay=<ms>` (default 0), with
 * `?size=<bytes>` of body (default 2), counting connections and requests. Its accept backlog is
 * 4096 (node's default is 511), so that a thousand connections opened at once by the proxy, which
 * shares this process, complete their handshakes while the process is busy.
 */
export async function countingUpstream(): Promise<CountingUpstream> {
  const counts: UpstreamCounts = { accepted: 0, requests: 0, active: 0, maxActive: 0, aborted: 0 };
  const server = http.createServer((req, res) => {
    counts.requests++;
    counts.active++;
    counts.maxActive = Math.max(counts.maxActive, counts.active);
    const query = new URL(req.url ?? "/", "http://x").searchParams;
    const delay = Number(query.get("delay") ?? 0);
    const size = Number(query.get("size") ?? 2);
    const timer = setTimeout(() => res.end(size === 2 ? "ok" : Buffer.alloc(size, 0x61)), delay);
    res.on("close", () => {
      counts.active--;
      if (!res.writableFinished) {
        counts.aborted++;
        clearTimeout(timer);
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket: net.Socket) => {
    counts.accepted++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    server,
    counts,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export interface ProbeResult {
  /** Milliseconds per answered probe. */
  latencies: number[];
  /** Probes that failed or were not answered 200 (what happened). */
  failures: string[];
}

/**
 * Another client: one HTTP/1.1 GET after another until `stop()`, on one keep-alive connection (a
 * new connection per GET would also measure the loopback's SYN retries: a port reused while the
 * other side still holds it in TIME_WAIT waits 1 s).
 */
export function probe(port: number, path = "/probe"): { stop(): Promise<ProbeResult> } {
  const result: ProbeResult = { latencies: [], failures: [] };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const r = await request(port, path, { timeoutMs: 10_000, agent });
        result.latencies.push(performance.now() - t0);
        if (r.status !== 200) result.failures.push(`status ${r.status}`);
      } catch (err) {
        result.failures.push((err as Error).message);
      }
      await sleep(25);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      agent.destroy();
      return result;
    },
  };
}
