/**
 * Envoy's circuit breakers (cluster `circuit_breakers.thresholds`) on the upstream pools (issue 9):
 * past `max_connections` no new connection, past `max_pending_requests` / `max_requests` a 503 with
 * flag UO and `x-envoy-overloaded: true`, past `max_retries` no retry; with Envoy's stats and
 * `/clusters` lines. One in-process proxy per test in front of a counting upstream, on loopback.
 */
import http2 from "node:http2";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { ignoreErrorHandledOnClose } from "../../../lib/errors.js";
import { waitUntil } from "../../../lib/wait.js";
import { type Reply, request } from "../../../test-support/http.js";
import { renderClustersText } from "../../admin/render.js";
import { prefixRoutes, useProxies } from "../http/helpers.js";
import { countingUpstream } from "./attack_kit.js";

const { proxy, serve, defer } = useProxies();

const OVERFLOW_BODY = "upstream connect error or disconnect/reset before headers. reset reason: overflow";

function breakers(t: string): string {
  return `circuit_breakers: { thresholds: [ { priority: DEFAULT, ${t} } ] }`;
}

function tally(replies: Reply[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of replies) {
    const key = `${r.status}${r.headers["x-envoy-overloaded"] === "true" ? " overloaded" : ""}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

describe("circuit breakers", () => {
  it("HTTP/1.1 cluster, 2 connections / 2 pending / 2 requests: 2 requests in flight, 8 more: 2 wait, 6 get 503 UO with x-envoy-overloaded; 2 upstream connections", async () => {
    const up = await countingUpstream();
    defer(() => up.close());
    const port = up.port;
    const p = await proxy(
      prefixRoutes({ "/": "route: { cluster: backend }" }),
      { backend: port },
      { clusterExtra: { backend: breakers("max_connections: 2, max_pending_requests: 2, max_requests: 2") } },
    );
    const first = Array.from({ length: 2 }, () => request(p.port, "/slow?delay=400"));
    await waitUntil("2 requests upstream", () => up.counts.active === 2);
    const all = [...first, ...Array.from({ length: 8 }, () => request(p.port, "/slow?delay=400"))];
    await waitUntil("2 requests wait", () => p.stat("cluster.backend.upstream_rq_pending_active") === 2);
    const open = ["cx_open", "rq_pending_open", "rq_open"].map((g) =>
      p.stat(`cluster.backend.circuit_breakers.default.${g}`),
    );
    const replies = await Promise.all(all);
    expect(tally(replies)).toEqual({ "200": 4, "503 overloaded": 6 });
    for (const r of replies.filter((x) => x.status === 503)) {
      expect(r.text).toBe(OVERFLOW_BODY);
      expect(r.headers["content-type"]).toBe("text/plain");
    }
    expect(up.counts.accepted).toBe(2);
    expect(up.counts.maxActive).toBe(2);
    expect(open).toEqual([1, 1, 1]);
    expect(p.stat("cluster.backend.upstream_rq_pending_overflow")).toBe(6);
    expect(p.stat("cluster.backend.upstream_cx_overflow")).toBeGreaterThanOrEqual(1);
    expect(p.stat("cluster.backend.upstream_rq_503")).toBe(6);
    const logged = await p.logged(10);
    const uo = logged.filter((e) => e.responseFlags.includes("UO"));
    expect(uo.map((e) => e.responseCodeDetails)).toEqual(
      Array(6).fill("upstream_reset_before_response_started{overflow}"),
    );
    // Envoy's /clusters shows the configured thresholds (HIGH keeps Envoy's defaults).
    const text = renderClustersText(p.server.clusterStatuses());
    expect(text).toContain(
      "backend::default_priority::max_connections::2\nbackend::default_priority::max_pending_requests::2\n" +
        "backend::default_priority::max_requests::2\nbackend::default_priority::max_retries::3\n" +
        "backend::high_priority::max_connections::1024\n",
    );
    await waitUntil(
      "the gauges fall back",
      () => p.stat("cluster.backend.circuit_breakers.default.rq_open") === 0,
    );
  });

  it("HTTP/2 cluster, 1 connection / 2 pending / 2 requests: 2 wait for the connection, 2 more get 503 UO; 3 more past max_requests get 503 UO at once; one upstream connection", async () => {
    let active = 0;
    let maxActive = 0;
    let accepted = 0;
    const server = http2.createServer();
    server.on("connection", () => accepted++);
    server.on("stream", (stream) => {
      active++;
      maxActive = Math.max(maxActive, active);
      stream.on("error", ignoreErrorHandledOnClose);
      stream.on("close", () => active--);
      setTimeout(() => {
        if (!stream.destroyed) {
          stream.respond({ ":status": 200 });
          stream.end("ok");
        }
      }, 400);
    });
    const h2Port = (await serve(server)).port;
    // The upstream connection is up 300 ms after it is opened: the first requests wait for it.
    const front = net.createServer((client) => {
      client.on("error", ignoreErrorHandledOnClose);
      client.pause();
      setTimeout(() => {
        const upstream = net.connect(h2Port, "127.0.0.1");
        upstream.on("error", ignoreErrorHandledOnClose);
        client.pipe(upstream).pipe(client);
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
        client.resume();
      }, 300);
    });
    const port = (await serve(front)).port;
    const p = await proxy(
      prefixRoutes({ "/": "route: { cluster: backend }" }),
      { backend: port },
      {
        clusterExtra: {
          backend: `http2_protocol_options: {}\n${breakers("max_connections: 1, max_pending_requests: 2, max_requests: 2")}`,
        },
      },
    );
    // Before the connection is up: 2 requests wait for it, the next 2 find the pending queue full.
    const first = Array.from({ length: 4 }, () => request(p.port, "/slow"));
    await waitUntil("2 streams upstream", () => active === 2);
    // Room on the connection but not in max_requests: refused at once.
    const more = await Promise.all(Array.from({ length: 3 }, () => request(p.port, "/slow")));
    expect(tally(more)).toEqual({ "503 overloaded": 3 });
    expect(tally(await Promise.all(first))).toEqual({ "200": 2, "503 overloaded": 2 });
    expect(accepted).toBe(1);
    expect(maxActive).toBe(2);
    expect(p.stat("cluster.backend.upstream_rq_pending_overflow")).toBe(2);
    expect(p.stat("cluster.backend.upstream_rq_active_overflow")).toBe(3);
  });

  it("max_retries 1: three requests retried at once, one retry goes out, two are answered as they were (upstream_rq_retry_overflow, flag UO)", async () => {
    const up = await countingUpstream();
    defer(() => up.close());
    let tries = 0;
    up.server.removeAllListeners("request");
    up.server.on("request", (_req, res) => {
      tries++;
      setTimeout(() => {
        res.statusCode = 503;
        res.end("busy");
      }, 200);
    });
    const port = up.port;
    const p = await proxy(
      prefixRoutes({
        "/": "route: { cluster: backend, retry_policy: { retry_on: 5xx, num_retries: 1 } }",
      }),
      { backend: port },
      { clusterExtra: { backend: breakers("max_retries: 1") } },
    );
    const replies = await Promise.all(Array.from({ length: 3 }, () => request(p.port, "/flaky")));
    expect(replies.map((r) => r.status)).toEqual([503, 503, 503]);
    expect(replies.map((r) => r.text)).toEqual(["busy", "busy", "busy"]);
    expect(tries).toBe(4);
    expect(p.stat("cluster.backend.upstream_rq_retry")).toBe(1);
    expect(p.stat("cluster.backend.upstream_rq_retry_overflow")).toBe(2);
    const logged = await p.logged(3);
    expect(logged.filter((e) => e.responseFlags.includes("UO")).length).toBe(2);
    expect(p.stat("cluster.backend.circuit_breakers.default.rq_retry_open")).toBe(0);
  });
});
