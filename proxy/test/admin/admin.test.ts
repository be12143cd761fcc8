import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { waitUntil } from "../../../lib/wait.js";
import { request } from "../../../test-support/http.js";
import type { AccessLogEntry } from "../../access_log/index.js";
import type { ServerState } from "../../admin/render.js";
import { AdminServer, type AdminSource } from "../../admin/server.js";
import { type ClusterStatus, mergeClusterStatuses, mergeSnapshots } from "../../admin/status.js";
import type { Bootstrap } from "../../config/model.js";
import { newHostStats } from "../../conn_pool/host_stats.js";
import { StatsStore } from "../../stats/store.js";

const bootstrap: Bootstrap = {
  version: "v2",
  admin: { address: { address: "127.0.0.1", port: 0 }, accessLogPath: "/dev/null" },
  listeners: [],
  clusters: [],
};

function hostStats(n: number) {
  return {
    ...newHostStats(),
    cx_total: n,
    cx_active: 1,
    rq_total: n * 2,
    rq_active: 0,
    rq_error: 1,
    rq_success: n * 2 - 1,
  };
}

const clusters: ClusterStatus[] = [
  {
    name: "myservice",
    hosts: [
      {
        address: "127.0.0.2",
        port: 80,
        hostname: "service1",
        weight: 1,
        healthFlags: 0,
        draining: false,
        stats: hostStats(3),
      },
      {
        address: "127.0.0.3",
        port: 80,
        hostname: "service2",
        weight: 1,
        healthFlags: 0,
        draining: true,
        stats: hostStats(2),
      },
    ],
  },
];

interface Fake extends AdminSource {
  failed: boolean;
  quits: number;
}

function fakeSource(store: StatsStore): Fake {
  const src: Fake = {
    failed: false,
    quits: 0,
    bootstrap,
    stats: () => store.snapshot(),
    clusters: async () => clusters,
    listeners: () => [{ name: "listener_0", address: "0.0.0.0", port: 9000 }],
    state: (): ServerState => (src.failed ? "DRAINING" : "LIVE"),
    healthCheckFail: () => {
      src.failed = true;
    },
    healthCheckOk: () => {
      src.failed = false;
    },
    quit: () => {
      src.quits++;
    },
  };
  return src;
}

async function fetchAdmin(
  port: number,
  path: string,
  method = "GET",
): Promise<{ status: number; type: string; body: string }> {
  const r = await request(port, path, { method });
  return { status: r.status, type: String(r.headers["content-type"]), body: r.text };
}

describe("admin listener", () => {
  let admin: AdminServer;
  let port = 0;
  let src: Fake;
  let store: StatsStore;
  const logged: AccessLogEntry[] = [];

  beforeEach(async () => {
    store = new StatsStore();
    store.counter("cluster.myservice.upstream_rq_total").inc(7);
    store.counter("cluster.myservice.upstream_rq_200").inc(7);
    store.counter("http.ingress_http.downstream_cx_http2_total").inc(2);
    store.gauge("cluster.myservice.upstream_cx_active").set(1);
    src = fakeSource(store);
    logged.length = 0;
    admin = new AdminServer({
      config: bootstrap.admin!,
      source: src,
      accessLog: { log: (e) => logged.push(e) },
      serverInfo: {
        version: "echomesh-proxy/0.1.0",
        startTimeMs: Date.now() - 5000,
        commandLineOptions: { service_cluster: "front-proxy", concurrency: 1, drain_time: "5s" },
        node: { id: "", cluster: "front-proxy" },
      },
    });
    port = (await admin.listen()).port;
  });

  afterEach(async () => {
    await admin.close();
  });

  it("/ready says LIVE with 200, and DRAINING with 503 after POST /healthcheck/fail", async () => {
    expect(await fetchAdmin(port, "/ready")).toMatchObject({ status: 200, body: "LIVE\n" });
    expect(await fetchAdmin(port, "/healthcheck/fail", "POST")).toMatchObject({ status: 200, body: "OK\n" });
    expect(await fetchAdmin(port, "/ready")).toMatchObject({ status: 503, body: "DRAINING\n" });
    const info = JSON.parse((await fetchAdmin(port, "/server_info")).body);
    expect(info.state).toBe("DRAINING");
    await fetchAdmin(port, "/healthcheck/ok", "POST");
    expect(await fetchAdmin(port, "/ready")).toMatchObject({ status: 200, body: "LIVE\n" });
  });

  it("refuses mutations by GET as Envoy does, and leaves the state alone", async () => {
    for (const path of ["/healthcheck/fail", "/healthcheck/ok", "/quitquitquit"]) {
      const r = await fetchAdmin(port, path);
      expect(r.status).toBe(405);
      expect(r.body).toBe("Method GET not allowed, POST required.");
    }
    expect(src.failed).toBe(false);
    expect(src.quits).toBe(0);
  });

  it("POST /quitquitquit answers OK then quits", async () => {
    expect(await fetchAdmin(port, "/quitquitquit", "POST")).toMatchObject({ status: 200, body: "OK\n" });
    await waitUntil("quit is called", () => src.quits > 0);
    expect(src.quits).toBe(1);
  });

  it("/server_info carries version, state, command line options and uptime", async () => {
    const r = await fetchAdmin(port, "/server_info");
    expect(r.type).toBe("application/json");
    const info = JSON.parse(r.body);
    expect(info).toMatchObject({
      version: "echomesh-proxy/0.1.0",
      state: "LIVE",
      command_line_options: { service_cluster: "front-proxy", concurrency: 1, drain_time: "5s" },
    });
    expect(info.uptime_current_epoch).toMatch(/^[45]s$/);
    expect(info.uptime_all_epochs).toMatch(/^[45]s$/);
  });

  it("/clusters prints Envoy's per-host lines and JSON", async () => {
    const r = await fetchAdmin(port, "/clusters");
    const lines = r.body.split("\n");
    expect(lines).toContain("myservice::127.0.0.2:80::cx_total::3");
    expect(lines).toContain("myservice::127.0.0.2:80::cx_active::1");
    expect(lines).toContain("myservice::127.0.0.2:80::rq_total::6");
    expect(lines).toContain("myservice::127.0.0.2:80::rq_error::1");
    expect(lines).toContain("myservice::127.0.0.2:80::rq_success::5");
    expect(lines).toContain("myservice::127.0.0.2:80::rq_active::0");
    expect(lines).toContain("myservice::127.0.0.2:80::health_flags::healthy");
    expect(lines).toContain("myservice::127.0.0.2:80::weight::1");
    expect(lines).toContain("myservice::127.0.0.2:80::hostname::service1");
    expect(lines).toContain("myservice::127.0.0.3:80::health_flags::/pending_dynamic_removal");
    // Envoy's circuit-breaker lines (its defaults, per priority) come before added_via_api.
    expect(lines.slice(0, 10)).toEqual([
      "myservice::observability_name::myservice",
      "myservice::default_priority::max_connections::1024",
      "myservice::default_priority::max_pending_requests::1024",
      "myservice::default_priority::max_requests::1024",
      "myservice::default_priority::max_retries::3",
      "myservice::high_priority::max_connections::1024",
      "myservice::high_priority::max_pending_requests::1024",
      "myservice::high_priority::max_requests::1024",
      "myservice::high_priority::max_retries::3",
      "myservice::added_via_api::false",
    ]);
    const j = JSON.parse((await fetchAdmin(port, "/clusters?format=json")).body);
    expect(Object.keys(j.cluster_statuses[0])).toEqual([
      "name",
      "host_statuses",
      "circuit_breakers",
      "observability_name",
    ]);
    expect(j.cluster_statuses[0].circuit_breakers.thresholds[1]).toEqual({
      priority: "HIGH",
      max_connections: 1024,
      max_pending_requests: 1024,
      max_requests: 1024,
      max_retries: 3,
    });
    const host = j.cluster_statuses[0].host_statuses[0];
    expect(host.address).toEqual({ socket_address: { address: "127.0.0.2", port_value: 80 } });
    // Protobuf JSON as Envoy prints it: counters then gauges, a 0 value left out, COUNTER implied.
    expect(host.stats.map((s: { name: string }) => s.name)).toEqual([
      "cx_connect_fail",
      "cx_total",
      "rq_error",
      "rq_success",
      "rq_timeout",
      "rq_total",
      "cx_active",
      "rq_active",
      "rq_pending_active",
    ]);
    expect(host.stats[0]).toEqual({ name: "cx_connect_fail" });
    expect(j.cluster_statuses[0].host_statuses[1].health_status).toEqual({
      pending_dynamic_removal: true,
      eds_health_status: "HEALTHY",
    });
    expect(host.stats).toContainEqual({ value: "6", name: "rq_total" });
    expect(host.stats).toContainEqual({ type: "GAUGE", value: "1", name: "cx_active" });
    expect(host.stats).toContainEqual({ type: "GAUGE", name: "rq_active" });
    expect(host.hostname).toBe("service1");
  });

  it("/clusters: a cluster without hosts has no host_statuses, a host without a hostname none", async () => {
    clusters.push({ name: "empty", hosts: [] });
    try {
      const j = JSON.parse((await fetchAdmin(port, "/clusters?format=json")).body);
      expect(Object.keys(j.cluster_statuses[1])).toEqual(["name", "circuit_breakers", "observability_name"]);
      clusters[0]?.hosts.push({
        ...(clusters[0].hosts[0] as (typeof clusters)[0]["hosts"][0]),
        port: 81,
        hostname: "",
      });
      const k = JSON.parse((await fetchAdmin(port, "/clusters?format=json")).body);
      expect(k.cluster_statuses[0].host_statuses[2].hostname).toBeUndefined();
      expect((await fetchAdmin(port, "/clusters")).body).toContain("myservice::127.0.0.2:81::hostname::\n");
    } finally {
      clusters.splice(1);
      clusters[0]?.hosts.splice(2);
    }
  });

  it("/stats, ?format=json, ?filter, /stats/prometheus", async () => {
    const t = await fetchAdmin(port, "/stats");
    expect(t.body).toContain("cluster.myservice.upstream_rq_total: 7\n");
    expect(t.body).toContain("http.ingress_http.downstream_cx_http2_total: 2\n");
    const f = await fetchAdmin(port, "/stats?filter=downstream");
    expect(f.body).toBe("http.ingress_http.downstream_cx_http2_total: 2\n");
    const j = JSON.parse((await fetchAdmin(port, "/stats?format=json")).body);
    expect(j.stats).toContainEqual({ name: "cluster.myservice.upstream_rq_total", value: 7 });
    const p = await fetchAdmin(port, "/stats/prometheus");
    expect(p.body).toContain(
      'envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="myservice"} 7',
    );
    expect(p.body).toContain("# TYPE envoy_cluster_upstream_cx_active gauge");
    expect(p.type).toBe("text/plain; charset=UTF-8");
    const p2 = await fetchAdmin(port, "/stats?format=prometheus");
    expect(p2.body).toBe(p.body);
    expect((await fetchAdmin(port, "/stats?filter=(")).status).toBe(400);
  });

  it("/listeners, /config_dump, /help and unknown paths", async () => {
    expect((await fetchAdmin(port, "/listeners")).body).toBe("listener_0::0.0.0.0:9000\n");
    const dump = JSON.parse((await fetchAdmin(port, "/config_dump")).body);
    expect(dump.configs[0].bootstrap.admin.address.port).toBe(0);
    const help = await fetchAdmin(port, "/help");
    expect(help.body).toContain("/clusters: upstream cluster status");
    const missing = await fetchAdmin(port, "/nope");
    expect(missing.status).toBe(404);
    expect(missing.body).toMatch(/^invalid path. admin commands are:/);
  });

  it("writes an access log entry per admin request", async () => {
    await fetchAdmin(port, "/ready");
    await waitUntil("the request is logged", () => logged.length > 0);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ method: "GET", path: "/ready", responseCode: 200, bytesSent: 5 });
  });
});

describe("merging worker views", () => {
  it("adds host stats and counters, keeps per-process gauges", () => {
    const merged = mergeClusterStatuses([clusters, clusters]);
    expect(merged[0]?.hosts[0]?.stats.rq_total).toBe(12);
    const snap = mergeSnapshots([
      {
        counters: { "c.a": 1 },
        gauges: { "cluster.x.membership_total": 2, "cluster.x.upstream_cx_active": 1 },
      },
      {
        counters: { "c.a": 2 },
        gauges: { "cluster.x.membership_total": 2, "cluster.x.upstream_cx_active": 3 },
      },
    ]);
    expect(snap).toEqual({
      counters: { "c.a": 3 },
      gauges: { "cluster.x.membership_total": 2, "cluster.x.upstream_cx_active": 4 },
    });
  });
});
