/**
 * WebSocket load (the `ws` library, no compression), run inside the load-generator process (worker.ts).
 *  - "rt": `connections` sockets each send a `size`-byte text frame, wait for the echo, check it byte
 *    for byte and send the next; a discarded warm-up, then the measured window (MARK start / end).
 *  - "capacity": open `sockets` sockets (at most `parallel` handshakes in flight), hold them idle
 *    `holdS` seconds, MARK held (the parent reads the target's RSS and fds), then one echo on each
 *    to prove every tunnel is alive, and close all with 1000.
 */

import WebSocket from "ws";
import { sleep } from "../../lib/wait.js";
import { mark } from "./protocol.js";

export type WsLoad =
  | { mode: "rt"; url: string; connections: number; durationS: number; warmupS: number; size: number }
  | { mode: "capacity"; url: string; sockets: number; parallel: number; holdS: number };

export interface WsResult {
  requests: number;
  requestsPerSec: number | null;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  latencyMaxMs: number | null;
  errors: number;
  opened: number;
  alive: number;
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 10_000 });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function closeAll(sockets: WebSocket[]): Promise<void> {
  await Promise.race([
    Promise.all(
      sockets.map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve();
            ws.once("close", () => resolve());
            ws.close(1000);
          }),
      ),
    ),
    sleep(10_000),
  ]);
  for (const ws of sockets) ws.terminate();
}

async function roundTrips(load: Extract<WsLoad, { mode: "rt" }>): Promise<WsResult> {
  const payload = "x".repeat(load.size);
  let errors = 0;
  let counting = false;
  let running = true;
  let count = 0;
  const latencies: number[] = [];
  const sockets: WebSocket[] = [];
  for (let i = 0; i < load.connections; i++) {
    try {
      sockets.push(await open(load.url));
    } catch {
      errors++;
    }
  }
  for (const ws of sockets) {
    let sentAt = 0n;
    const send = (): void => {
      sentAt = process.hrtime.bigint();
      ws.send(payload);
    };
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary || data.length !== payload.length || data.toString() !== payload) errors++;
      if (counting) {
        count++;
        latencies.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
      }
      if (running) send();
    });
    ws.on("error", () => errors++);
    ws.on("close", (code) => {
      if (running) errors++;
      void code;
    });
    send();
  }
  await sleep(load.warmupS * 1000);
  await mark("start");
  counting = true;
  const started = process.hrtime.bigint();
  await sleep(load.durationS * 1000);
  counting = false;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await mark("end");
  running = false;
  await closeAll(sockets);
  latencies.sort((a, b) => a - b);
  return {
    requests: count,
    requestsPerSec: count / seconds,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    latencyMaxMs: latencies.length > 0 ? (latencies[latencies.length - 1] as number) : null,
    errors,
    opened: sockets.length,
    alive: sockets.length,
  };
}

async function capacity(load: Extract<WsLoad, { mode: "capacity" }>): Promise<WsResult> {
  const sockets: WebSocket[] = [];
  let errors = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < load.sockets) {
      next++;
      try {
        const ws = await open(load.url);
        ws.on("error", () => errors++);
        sockets.push(ws);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(load.parallel, load.sockets) }, worker));
  await sleep(load.holdS * 1000);
  await mark("held");
  const echoes = await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 10_000);
          ws.once("message", (data: Buffer) => {
            clearTimeout(timer);
            resolve(data.toString() === "ping-0123456789a");
          });
          ws.send("ping-0123456789a");
        }),
    ),
  );
  const alive = echoes.filter(Boolean).length;
  await closeAll(sockets);
  return {
    requests: alive,
    requestsPerSec: null,
    latencyP50Ms: null,
    latencyP99Ms: null,
    latencyMaxMs: null,
    errors: errors + (sockets.length - alive),
    opened: sockets.length,
    alive,
  };
}

/** Runs one WebSocket measurement. */
export function runWs(load: WsLoad): Promise<WsResult> {
  return load.mode === "rt" ? roundTrips(load) : capacity(load);
}
