/**
 * Active health checking against loopback HTTP servers whose answers the test sets: flags, thresholds
 * counted as Envoy counts them, timeouts, expected statuses, the request Envoy sends, stats, panic mode,
 * and timers that stop.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { sleep, waitUntil } from "../../../lib/wait.js";
import { closeServer, listen } from "../../../test-support/servers.js";
import { renderClustersText } from "../../admin/render.js";
import { clusterStatuses } from "../../admin/status.js";
import type { HealthCheckConfig } from "../../config/model.js";
import { OUTLIER_DETECTION_DEFAULTS } from "../../config/outlier_detection.js";
import { StatsStore } from "../../stats/store.js";
import { inPanic } from "../../upstream/base_cluster.js";
import { createClusterManager } from "../../upstream/cluster_manager.js";
import { HealthFlag } from "../../upstream/host.js";
import { clusterConfig, endpoint, FakeDns, picks, poolFactory, tally } from "./fakes.js";

/** A backend whose health answer the test sets; it records each check's request. */
class Backend {
  status = 200;
  /** Hold answers (a timeout for the checker). */
  silent = false;
  readonly requests: { method: string; url: string; headers: string[] }[] = [];
  readonly server = http.createServer((req, res) => {
    this.requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.rawHeaders });
    if (this.silent) return;
    res.writeHead(this.status, { "content-length": "0" });
    res.end();
  });
  port = 0;

  async start(): Promise<this> {
    this.port = await listen(this.server);
    return this;
  }
}

const HC: HealthCheckConfig = {
  timeoutMs: 200,
  intervalMs: 40,
  noTrafficIntervalMs: 40,
  noTrafficHealthyIntervalMs: 40,
  unhealthyIntervalMs: 40,
  unhealthyEdgeIntervalMs: 40,
  healthyEdgeIntervalMs: 40,
  intervalJitterMs: 0,
  intervalJitterPercent: 0,
  initialJitterMs: 0,
  unhealthyThreshold: 2,
  healthyThreshold: 3,
  reuseConnection: true,
  kind: "http",
  http: {
    path: "/health",
    http2: false,
    host: null,
    expectedStatuses: [[200, 201]],
    retriableStatuses: [],
    headersToAdd: [],
    headersToRemove: [],
  },
};

const backends: Backend[] = [];
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  for (const b of backends.splice(0)) await closeServer(b.server);
});

async function setup(n: number, hc: Partial<HealthCheckConfig> = {}, panic?: number) {
  const bs: Backend[] = [];
  for (let i = 0; i < n; i++) bs.push(await new Backend().start());
  backends.push(...bs);
  const stats = new StatsStore();
  const config = clusterConfig({
    endpoints: bs.map((b) => endpoint("127.0.0.1", b.port)),
    healthCheck: { ...HC, ...hc },
    ...(panic === undefined ? {} : { healthyPanicThreshold: panic }),
  });
  const cm = createClusterManager([config], { stats, createPool: poolFactory().createPool, random: () => 0 });
  closers.push(() => cm.close());
  const cluster = cm.get("service")!;
  const counter = (name: string) => stats.snapshot().counters[`cluster.service.${name}`];
  const gauge = (name: string) => stats.snapshot().gauges[`cluster.service.${name}`];
  const failed = () => cluster.hosts.map((h) => h.hasHealthFlag(HealthFlag.FAILED_ACTIVE_HC));
  return { bs, cm, cluster, stats, counter, gauge, failed };
}

describe("active health checking", () => {
  it("hosts start failed; initialization waits for the first check, which alone makes a host healthy", async () => {
    const { bs, cm, cluster, gauge, failed } = await setup(2);
    expect(failed()).toEqual([true, true]);
    expect(cluster.hosts.map((h) => h.healthFlags)).toEqual([
      HealthFlag.FAILED_ACTIVE_HC,
      HealthFlag.FAILED_ACTIVE_HC,
    ]);
    bs[1]!.status = 503;
    await cm.initialize();
    // healthy_threshold is 3, but the first check decides.
    expect(failed()).toEqual([false, true]);
    expect(gauge("health_check.healthy")).toBe(1);
    expect(gauge("membership_healthy")).toBe(1);
  });

  it("sends GET <path> with host: <cluster> and user-agent: Envoy/HC; headers added and removed", async () => {
    const { bs, cm } = await setup(1, {
      http: { ...HC.http!, headersToAdd: [["x-probe", "1"]], headersToRemove: [] },
    });
    await cm.initialize();
    expect(bs[0]!.requests[0]).toEqual({
      method: "GET",
      url: "/health",
      headers: ["host", "service", "user-agent", "Envoy/HC", "x-probe", "1"],
    });
    const other = await setup(1, {
      http: { ...HC.http!, host: "hc.example", headersToRemove: ["user-agent"] },
    });
    await other.cm.initialize();
    expect(other.bs[0]!.requests[0]!.headers).toEqual(["host", "hc.example"]);
  });

  it("a status outside expected_statuses fails at once; recovery takes healthy_threshold passes", async () => {
    const { bs, cm, counter, failed } = await setup(1);
    await cm.initialize();
    expect(failed()).toEqual([false]);
    bs[0]!.status = 503;
    const at = bs[0]!.requests.length;
    await waitUntil("host failed", () => failed()[0] === true, { withinMs: 2000, intervalMs: 5 });
    // One 503 was enough (unhealthy_threshold 2 counts network failures only).
    expect(bs[0]!.requests.length - at).toBe(1);
    bs[0]!.status = 200;
    const back = bs[0]!.requests.length;
    await waitUntil("host healthy", () => failed()[0] === false, { withinMs: 2000, intervalMs: 5 });
    expect(bs[0]!.requests.length - back).toBe(3);
    expect(counter("health_check.failure")).toBeGreaterThanOrEqual(1);
    expect(counter("health_check.network_failure")).toBe(0);
    expect(counter("health_check.attempt")).toBe(
      counter("health_check.success")! + counter("health_check.failure")!,
    );
  });

  it("a timeout is a network failure counted against unhealthy_threshold; the connection is closed", async () => {
    const { bs, cm, counter, failed } = await setup(1, { timeoutMs: 60 });
    await cm.initialize();
    bs[0]!.silent = true;
    const at = bs[0]!.requests.length;
    await waitUntil("host failed", () => failed()[0] === true, { withinMs: 3000, intervalMs: 5 });
    expect(bs[0]!.requests.length - at).toBe(2);
    expect(counter("health_check.network_failure")).toBe(2);
    expect(counter("health_check.failure")).toBe(2);
  });

  it("a refused connection is a network failure; expected_statuses ranges and retriable_statuses apply", async () => {
    const closed = await new Backend().start();
    await closeServer(closed.server);
    const s = await setup(1, {
      http: { ...HC.http!, expectedStatuses: [[200, 300]], retriableStatuses: [[503, 504]] },
    });
    s.bs[0]!.status = 204;
    await s.cm.initialize();
    expect(s.failed()).toEqual([false]);
    s.bs[0]!.status = 503;
    const at = s.bs[0]!.requests.length;
    await waitUntil("host failed", () => s.failed()[0] === true, { withinMs: 2000, intervalMs: 5 });
    expect(s.bs[0]!.requests.length - at).toBe(2);
    expect(s.counter("health_check.network_failure")).toBe(0);
    const refused = createClusterManager(
      [
        clusterConfig({
          endpoints: [endpoint("127.0.0.1", closed.port)],
          healthCheck: { ...HC, unhealthyThreshold: 1 },
        }),
      ],
      { stats: new StatsStore(), createPool: poolFactory().createPool },
    );
    closers.push(() => refused.close());
    await refused.initialize();
    expect(refused.get("service")!.hosts[0]!.hasHealthFlag(HealthFlag.FAILED_ACTIVE_HC)).toBe(true);
  });

  it("a malformed response is a network failure, as a connection Envoy's codec closes", async () => {
    const garbage = net.createServer((socket) => {
      socket.on("error", () => socket.destroy());
      socket.once("data", () => socket.end("SPDY/9 what\r\n\r\n"));
    });
    const port = await listen(garbage);
    closers.push(() => closeServer(garbage));
    const stats = new StatsStore();
    const cm = createClusterManager(
      [
        clusterConfig({
          endpoints: [endpoint("127.0.0.1", port)],
          healthCheck: { ...HC, unhealthyThreshold: 1 },
        }),
      ],
      { stats, createPool: poolFactory().createPool },
    );
    closers.push(() => cm.close());
    await cm.initialize();
    expect(cm.get("service")!.hosts[0]!.hasHealthFlag(HealthFlag.FAILED_ACTIVE_HC)).toBe(true);
    expect(stats.snapshot().counters["cluster.service.health_check.network_failure"]).toBeGreaterThanOrEqual(
      1,
    );
  });

  it("codec_client_type HTTP2: the check goes over h2c as Envoy sends it, one session kept", async () => {
    const seen: string[][] = [];
    let status = 200;
    let sessions = 0;
    const h2 = http2.createServer();
    h2.on("session", () => sessions++);
    h2.on("stream", (stream: http2.ServerHttp2Stream, _h: unknown, _f: unknown, raw: string[]) => {
      seen.push(raw);
      stream.respond({ ":status": status });
      stream.end("ok");
    });
    const port = await listen(h2);
    closers.push(() => closeServer(h2));
    const stats = new StatsStore();
    const cm = createClusterManager(
      [
        clusterConfig({
          endpoints: [endpoint("127.0.0.1", port)],
          healthCheck: { ...HC, http: { ...HC.http!, http2: true } },
        }),
      ],
      { stats, createPool: poolFactory().createPool },
    );
    closers.push(() => cm.close());
    await cm.initialize();
    const host = cm.get("service")!.hosts[0]!;
    expect(host.hasHealthFlag(HealthFlag.FAILED_ACTIVE_HC)).toBe(false);
    expect(seen[0]).toEqual([
      ":method",
      "GET",
      ":authority",
      "service",
      ":path",
      "/health",
      ":scheme",
      "http",
      "user-agent",
      "Envoy/HC",
    ]);
    status = 503;
    await waitUntil("host failed", () => host.hasHealthFlag(HealthFlag.FAILED_ACTIVE_HC), {
      withinMs: 2000,
      intervalMs: 5,
    });
    expect(sessions).toBe(1);
    expect(seen.length).toBeGreaterThanOrEqual(2);
  });

  it("codec_client_type HTTP2: a refused connection is a network failure", async () => {
    const closed = await new Backend().start();
    await closeServer(closed.server);
    const stats = new StatsStore();
    const cm = createClusterManager(
      [
        clusterConfig({
          endpoints: [endpoint("127.0.0.1", closed.port)],
          healthCheck: { ...HC, unhealthyThreshold: 1, http: { ...HC.http!, http2: true } },
        }),
      ],
      { stats, createPool: poolFactory().createPool },
    );
    closers.push(() => cm.close());
    await cm.initialize();
    expect(cm.get("service")!.hosts[0]!.hasHealthFlag(HealthFlag.FAILED_ACTIVE_HC)).toBe(true);
    expect(stats.snapshot().counters["cluster.service.health_check.network_failure"]).toBeGreaterThanOrEqual(
      1,
    );
  });

  it("a TCP check passes on connect", async () => {
    const { cm, failed, bs } = await setup(1, { kind: "tcp" });
    await cm.initialize();
    expect(failed()).toEqual([false]);
    expect(bs[0]!.requests).toHaveLength(0);
  });

  it("/clusters shows /failed_active_hc", async () => {
    const { bs, cm } = await setup(2);
    bs[0]!.status = 500;
    await cm.initialize();
    const text = renderClustersText(clusterStatuses(cm));
    expect(text).toContain(`service::127.0.0.1:${bs[0]!.port}::health_flags::/failed_active_hc\n`);
    expect(text).toContain(`service::127.0.0.1:${bs[1]!.port}::health_flags::healthy\n`);
  });

  it("no_traffic_interval until the cluster opened a connection, then interval", async () => {
    const { bs, cm, cluster } = await setup(1, { noTrafficIntervalMs: 400, noTrafficHealthyIntervalMs: 400 });
    await cm.initialize();
    await sleep(200);
    expect(bs[0]!.requests).toHaveLength(1);
    cluster.stats.upstream_cx_total.value++;
    // The check due at the no-traffic interval comes; later ones follow `interval` (40 ms).
    await waitUntil("checks at interval", () => bs[0]!.requests.length >= 5, {
      withinMs: 1000,
      intervalMs: 5,
    });
  });

  it("stops checking a host that DNS no longer returns", async () => {
    const [a, b] = [await new Backend().start(), await new Backend().start()];
    backends.push(a, b);
    const dns = new FakeDns();
    dns.answers.set("a.test", ["127.0.0.1"]);
    dns.answers.set("b.test", ["127.0.0.1"]);
    const cm = createClusterManager(
      [
        clusterConfig({
          type: "strict_dns",
          dnsRefreshRateMs: 30,
          endpoints: [endpoint("a.test", a.port), endpoint("b.test", b.port)],
          healthCheck: HC,
        }),
      ],
      { stats: new StatsStore(), createPool: poolFactory().createPool, resolver: dns.resolver },
    );
    closers.push(() => cm.close());
    await cm.initialize();
    expect(b.requests.length).toBeGreaterThanOrEqual(1);
    dns.answers.set("b.test", []);
    await waitUntil("b removed", () => cm.get("service")!.hosts.every((h) => h.port !== b.port), {
      withinMs: 2000,
      intervalMs: 5,
    });
    const at = b.requests.length;
    const aAt = a.requests.length;
    await sleep(200);
    expect(b.requests.length).toBe(at);
    expect(a.requests.length).toBeGreaterThan(aAt);
  });

  it("stops checking on close", async () => {
    const { bs, cm } = await setup(1);
    await cm.initialize();
    await cm.close();
    const at = bs[0]!.requests.length;
    await sleep(200);
    expect(bs[0]!.requests.length).toBe(at);
  });
});

describe("panic threshold", () => {
  it("is Envoy's test: availability 100 never panics, else healthy share below the threshold", () => {
    expect(inPanic(0, 0, 50)).toBe(true);
    expect(inPanic(0, 3, 50)).toBe(true);
    expect(inPanic(0, 3, 0)).toBe(false);
    expect(inPanic(1, 2, 50)).toBe(false);
    expect(inPanic(1, 3, 50)).toBe(true);
    expect(inPanic(3, 4, 80)).toBe(false);
    expect(inPanic(2, 4, 80)).toBe(true);
    expect(inPanic(2, 3, 100)).toBe(true);
  });

  it("with too few healthy hosts every host is balanced and lb_healthy_panic counts the picks", async () => {
    const { bs, cm, cluster, counter } = await setup(3);
    bs[1]!.status = 503;
    bs[2]!.status = 503;
    await cm.initialize();
    expect(tally(picks(cluster, 30))).toEqual({ "127.0.0.1": 30 });
    const ports = Array.from({ length: 30 }, () => cluster.chooseHost()!.port);
    expect(new Set(ports).size).toBe(3);
    expect(counter("lb_healthy_panic")).toBe(60);
    bs[1]!.status = 200;
    await waitUntil("out of panic", () => cluster.hosts[1]!.healthy, { withinMs: 2000, intervalMs: 5 });
    const healthyOnly = Array.from({ length: 30 }, () => cluster.chooseHost()!.port);
    expect(new Set(healthyOnly)).toEqual(new Set([bs[0]!.port, bs[1]!.port]));
    expect(counter("lb_healthy_panic")).toBe(60);
  });

  it("threshold 0 disables panic: no healthy host, no host", async () => {
    const { bs, cm, cluster } = await setup(2, {}, 0);
    for (const b of bs) b.status = 503;
    await cm.initialize();
    expect(cluster.chooseHost()).toBeNull();
  });
});

describe("active health checking with outlier detection", () => {
  async function ejectedCluster(uneject: boolean) {
    const backend = await new Backend().start();
    backends.push(backend);
    const config = clusterConfig({
      endpoints: [endpoint("127.0.0.1", backend.port), endpoint("127.0.0.2", backend.port)],
      healthCheck: HC,
      outlierDetection: {
        ...OUTLIER_DETECTION_DEFAULTS,
        baseEjectionTimeMs: 60_000,
        maxEjectionPercent: 100,
        successfulActiveHealthCheckUnejectHost: uneject,
      },
    });
    const cm = createClusterManager([config], {
      stats: new StatsStore(),
      createPool: poolFactory().createPool,
      random: () => 0,
    });
    closers.push(() => cm.close());
    await cm.initialize();
    const cluster = cm.get("service")!;
    const host = cluster.hosts[0]!;
    for (let i = 0; i < 5; i++) cluster.outlierDetector!.putResponse(host, 500);
    expect(host.hasHealthFlag(HealthFlag.FAILED_OUTLIER_CHECK)).toBe(true);
    return host;
  }

  it("a passing check brings an ejected host back (successful_active_health_check_uneject_host)", async () => {
    const host = await ejectedCluster(true);
    await waitUntil("host un-ejected", () => !host.hasHealthFlag(HealthFlag.FAILED_OUTLIER_CHECK), {
      withinMs: 2000,
      intervalMs: 5,
    });
  });

  it("without it the host stays ejected however many checks pass", async () => {
    const host = await ejectedCluster(false);
    await sleep(HC.intervalMs * 5);
    expect(host.hasHealthFlag(HealthFlag.FAILED_OUTLIER_CHECK)).toBe(true);
  });
});
