/**
 * Nothing leaks after many connections and WebSockets have come and gone through
 * client -> front -h2c-> sidecar -h1-> echo: the admin gauges return to their idle values, the
 * echo's open-WebSocket gauge returns to 0, and each proxy's open descriptors return to where they
 * started. 10,000 of each, 50 at a time, or as many as fit in E2E_BUDGET_S seconds per test
 * (default 40: on a loaded 2-core machine the three processes manage ~100-200 exchanges/s); at
 * least 1,000 must fit. E2E_CONNECTIONS / E2E_WEBSOCKETS change the targets. A failure is logged with
 * its reason (handshake status, socket error, close code, stage reached).
 */
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { request } from "../../../test-support/http.js";
import { closed, wsConnect } from "../../../test-support/ws.js";
import { reaches, useMesh } from "./harness.js";

const CONNECTIONS = Number(process.env.E2E_CONNECTIONS ?? 10_000);
const WEBSOCKETS = Number(process.env.E2E_WEBSOCKETS ?? 10_000);
const BUDGET_MS = Number(process.env.E2E_BUDGET_S ?? 40) * 1000;
const AT_LEAST = Math.min(1_000, CONNECTIONS, WEBSOCKETS);
const CONCURRENCY = 50;

const mesh = useMesh();

/**
 * Runs `one` up to `total` times, `CONCURRENCY` at a time, starting no new one after the time
 * budget; counts failures instead of throwing.
 */
async function bounded(
  total: number,
  one: (i: number) => Promise<void>,
): Promise<{ done: number; failed: number }> {
  let next = 0;
  let failed = 0;
  const deadline = Date.now() + BUDGET_MS;
  const worker = async (): Promise<void> => {
    while (next < total && Date.now() < deadline) {
      const i = next++;
      await one(i).catch((e: Error) => {
        failed++;
        if (failed <= 20) console.log(`#${i} failed: ${e.message}`);
      });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { done: next, failed };
}

/** One connection, one request (`connection: close`, since there is no agent), then close. */
async function oneRequest(port: number): Promise<void> {
  const r = await request(port, "/", { timeoutMs: 20_000 });
  if (r.status !== 200) throw new Error(`status ${r.status}`);
}

/** Open a WebSocket to echo's /ws, echo one message, close cleanly (1000 both ways). */
function oneWebSocket(port: number, i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    let stage = "connecting";
    const fail = (why: string): void => {
      clearTimeout(timer);
      ws.terminate();
      reject(new Error(`${why} (stage ${stage}, after ${Date.now() - t0} ms)`));
    };
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const timer = setTimeout(() => fail("timeout"), 20_000);
    ws.on("unexpected-response", (_req, res) => {
      res.resume();
      fail(`handshake status ${res.statusCode} ${JSON.stringify(res.headers)}`);
    });
    ws.on("open", () => {
      stage = "open";
      ws.send(`m${i}`);
    });
    ws.on("message", (data) => {
      if (data.toString() !== `m${i}`) return fail("wrong echo");
      stage = "echoed";
      ws.close(1000);
    });
    ws.on("error", (e) => fail(`error ${(e as NodeJS.ErrnoException).code ?? ""} ${e.message}`));
    ws.on("close", (code) => {
      if (stage !== "echoed" || code !== 1000) return fail(`close ${code}`);
      clearTimeout(timer);
      resolve();
    });
  });
}

async function expectIdle(): Promise<void> {
  const { front, sidecar } = mesh;
  expect(await reaches(() => front.stat("http.front.downstream_cx_active"), 0)).toBe(0);
  expect(await reaches(() => front.stat("http.front.downstream_rq_active"), 0)).toBe(0);
  expect(await reaches(() => front.stat("cluster.sidecar.upstream_rq_active"), 0)).toBe(0);
  expect(await reaches(() => sidecar.stat("http.sidecar.downstream_rq_active"), 0)).toBe(0);
  expect(await reaches(() => sidecar.stat("cluster.echo.upstream_rq_active"), 0)).toBe(0);
  // The front keeps its h2c session to the sidecar (one, it multiplexes); the sidecar keeps at most
  // one keep-alive connection per concurrent request to the echo, until the idle timeout.
  expect(await front.stat("cluster.sidecar.upstream_cx_active")).toBeLessThanOrEqual(1);
  expect(await sidecar.stat("http.sidecar.downstream_cx_active")).toBeLessThanOrEqual(1);
  expect(await sidecar.stat("cluster.echo.upstream_cx_active")).toBeLessThanOrEqual(CONCURRENCY);
  for (const p of [front, sidecar]) {
    const c = await p.clusters();
    for (const [k, v] of c) if (k.endsWith("::rq_active")) expect(`${k}=${v}`).toBe(`${k}=0`);
  }
  for (const name of ["front", "sidecar"] as const) await mesh.expectFdsBack(name, 20_000);
  expect(front.alive && sidecar.alive).toBe(true);
}

describe("nothing leaks", () => {
  it(`up to ${CONNECTIONS} HTTP connections come and go`, async () => {
    const { front } = mesh;
    const before = await front.stat("http.front.downstream_cx_total");
    const t0 = Date.now();
    const { done, failed } = await bounded(CONNECTIONS, () => oneRequest(front.port));
    const seconds = (Date.now() - t0) / 1000;
    console.log(
      `${done} connections in ${seconds.toFixed(1)} s (${(done / seconds).toFixed(0)}/s), ${failed} failed`,
    );
    expect(failed).toBe(0);
    expect(done).toBeGreaterThanOrEqual(AT_LEAST);
    expect((await front.stat("http.front.downstream_cx_total")) - before).toBe(done);
    await expectIdle();
  }, 120_000);

  it(`up to ${WEBSOCKETS} WebSockets come and go across the h2c hop`, async () => {
    const { front } = mesh;
    const before = await front.stat("http.front.downstream_cx_upgrades_total");
    const sessionsLost = await front.stat("cluster.sidecar.upstream_cx_destroy");
    // One held open while the others run: the echo's gauge does count them.
    const { ws: held } = await wsConnect(front.port);
    expect(await reaches(() => mesh.echoWebSocketsOpen(), 1)).toBe(1);
    const t0 = Date.now();
    const { done, failed } = await bounded(WEBSOCKETS, (i) => oneWebSocket(front.port, i));
    const seconds = (Date.now() - t0) / 1000;
    console.log(
      `${done} WebSockets in ${seconds.toFixed(1)} s (${(done / seconds).toFixed(0)}/s), ${failed} failed`,
    );
    expect(failed).toBe(0);
    expect(done).toBeGreaterThanOrEqual(AT_LEAST);
    // Tunnels close with END_STREAM both ways, not RST_STREAM: a RST per tunnel looks like a rapid
    // reset flood to the sidecar's nghttp2, which then ends the shared h2c session with GOAWAY.
    expect(await front.stat("cluster.sidecar.upstream_cx_destroy")).toBe(sessionsLost);
    expect((await front.stat("http.front.downstream_cx_upgrades_total")) - before).toBe(done + 1);
    const heldClosed = closed(held);
    held.close(1000);
    await heldClosed;
    expect(await reaches(() => mesh.echoWebSocketsOpen(), 0)).toBe(0);
    await expectIdle();
  }, 120_000);
});
