/**
 * Stats declared once: every declared stat is in the admin's output from the start (at 0, as Envoy
 * shows it), patterns make one stat per value, and worker views merge by each gauge's declaration.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SEEDS } from "../../../test-support/paths.js";
import { renderClustersText } from "../../admin/render.js";
import { mergeSnapshots } from "../../admin/status.js";
import { loadConfigFile } from "../../config/load.js";
import { HOST_STATS, newHostStats } from "../../conn_pool/host_stats.js";
import { GLOBAL_CONNECTIONS_STATS } from "../../listener/stats.js";
import { defaultFactories } from "../../server/factories.js";
import { silentLogger } from "../../server/log.js";
import { ProxyServer } from "../../server/server.js";
import { CDS_STATS, LDS_STATS } from "../../server/stats.js";
import { isPerProcessGauge, STAT_SCOPES } from "../../stats/catalog.js";
import { counter, declareScope, fillName, gauge, resolveScope } from "../../stats/declare.js";
import { renderPrometheus } from "../../stats/prometheus.js";
import { renderStatsText, selectStats } from "../../stats/render.js";
import { StatsStore } from "../../stats/store.js";
import { CLUSTER_SSL_STATS, LISTENER_SSL_STATS } from "../../tls/stats.js";
import {
  HEALTH_CHECK_STATS,
  OUTLIER_DETECTION_STATS,
  REMAINING_STATS,
} from "../../upstream/cluster_stats.js";

/** The seed's sidecar as the CLI builds it, not started: no socket bound, no DNS lookup made. */
async function unstartedServer(): Promise<ProxyServer> {
  return new ProxyServer(await loadConfigFile(join(SEEDS, "service-envoy.yaml")), {
    logger: silentLogger,
    ...defaultFactories(),
    serverInfo: null,
  });
}

/** The values each scope's placeholders take in the seed's config. */
const PREFIX_VALUES: Record<string, string[]> = {
  "listener.<address>.": ["0.0.0.0_80"],
  "http.<stat_prefix>.": ["ingress_http"],
  "listener.<address>.http.<stat_prefix>.": ["0.0.0.0_80", "ingress_http"],
  "cluster.<name>.": ["myservice"],
};

describe("declared stats in the admin's output", () => {
  it("/stats lists every declared stat of every scope before any traffic, each counter at 0", async () => {
    const text = renderStatsText(
      selectStats((await unstartedServer()).snapshot(), { filter: null, usedOnly: false }),
    );
    const values = new Map(
      text
        .trimEnd()
        .split("\n")
        .map((l) => l.split(": ") as [string, string]),
    );
    let declared = 0;
    for (const scope of STAT_SCOPES) {
      // Host stats are per host (/clusters); the overload monitor's, outlier detection's, active
      // health checking's and the circuit breakers' remaining_* only exist when they are configured.
      if (scope === HOST_STATS || scope === GLOBAL_CONNECTIONS_STATS || scope === OUTLIER_DETECTION_STATS)
        continue;
      if (scope === HEALTH_CHECK_STATS || scope === REMAINING_STATS) continue;
      // Only a TLS listener or cluster has `ssl.*` stats (the seed has none), as in Envoy.
      if (scope === LISTENER_SSL_STATS || scope === CLUSTER_SSL_STATS) continue;
      // CDS's and LDS's exist with their file in dynamic_resources (proxy/test/reload/).
      if (scope === CDS_STATS || scope === LDS_STATS) continue;
      const prefix = fillName(scope.prefix, ...(PREFIX_VALUES[scope.prefix] ?? []));
      for (const [name, decl] of Object.entries(scope.stats)) {
        declared++;
        expect(values.has(prefix + name), `${prefix}${name} in /stats`).toBe(true);
        if (decl.kind === "counter") expect(values.get(prefix + name)).toBe("0");
      }
    }
    expect(values.size).toBe(declared);
    expect(values.get("cluster.myservice.retry_or_shadow_abandoned")).toBe("0");
    expect(values.get("cluster.myservice.upstream_rq_per_try_timeout")).toBe("0");
    expect(values.get("server.state")).toBe("2"); // PRE_INITIALIZING
  });

  it("/stats?usedonly hides them, and /stats/prometheus shows them with Envoy's tags", async () => {
    const snapshot = (await unstartedServer()).snapshot();
    const used = renderStatsText(selectStats(snapshot, { filter: /^cluster\./, usedOnly: true }));
    expect(used).toBe("");
    expect(renderPrometheus(snapshot)).toContain(
      'envoy_cluster_upstream_rq_per_try_timeout{envoy_cluster_name="myservice"} 0\n',
    );
  });

  it("/clusters prints every declared host stat, in name order as Envoy does", () => {
    const host = {
      address: "127.0.0.1",
      port: 9,
      hostname: "service1",
      weight: 1,
      healthFlags: 0,
      draining: false,
    };
    const stats = { ...newHostStats(), rq_total: 3 };
    const text = renderClustersText([{ name: "myservice", hosts: [{ ...host, stats }] }]);
    const names = Object.keys(HOST_STATS.stats);
    expect(names).toEqual([...names].sort());
    const lines = text.split("\n").filter((l) => names.includes(l.split("::")[2] ?? ""));
    expect(lines).toEqual(names.map((n) => `myservice::127.0.0.1:9::${n}::${n === "rq_total" ? 3 : 0}`));
  });
});

describe("a scope's declaration", () => {
  const DEMO = declareScope({
    prefix: "demo.<name>.",
    title: "Demo",
    stats: { hits: counter("Hits"), open: gauge("Open") },
    patterns: { "hits_<code>": counter("Hits by code") },
  });

  it("resolves Counters and Gauges under its prefix, once: the object holds the store's stats", () => {
    const store = new StatsStore();
    const scope = resolveScope(store, DEMO, "a");
    scope.stats.hits.value++;
    scope.stats.open.set(3);
    expect(scope.stats.hits).toBe(store.counter("demo.a.hits"));
    expect(store.snapshot()).toEqual({ counters: { "demo.a.hits": 1 }, gauges: { "demo.a.open": 3 } });
  });

  it("fills a pattern with a value, and a placeholder with any text", () => {
    const store = new StatsStore();
    const scope = resolveScope(store, DEMO, "$&.x");
    scope.patternCounter("hits_<code>", 404).inc();
    expect(store.snapshot().counters["demo.$&.x.hits_404"]).toBe(1);
    expect(fillName("cluster.<name>.", "service1")).toBe("cluster.service1.");
  });
});

describe("merging worker snapshots by declaration", () => {
  it("per-process gauges (membership, cluster_manager, server) take the largest; others add up", () => {
    expect(isPerProcessGauge("cluster.my.service.membership_total")).toBe(true);
    expect(isPerProcessGauge("cluster_manager.active_clusters")).toBe(true);
    expect(isPerProcessGauge("server.state")).toBe(true);
    expect(isPerProcessGauge("cluster.x.upstream_cx_active")).toBe(false);
    expect(isPerProcessGauge("http.ingress_http.downstream_cx_active")).toBe(false);
    const worker = { counters: {}, gauges: { "cluster_manager.active_clusters": 2, "server.live": 1 } };
    expect(mergeSnapshots([worker, worker]).gauges).toEqual({
      "cluster_manager.active_clusters": 2,
      "server.live": 1,
    });
  });
});
