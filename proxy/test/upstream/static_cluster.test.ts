import { describe, expect, it } from "vitest";
import { StatsStore } from "../../stats/store.js";
import { createClusterManager } from "../../upstream/cluster_manager.js";
import { clusterConfig, endpoint, picks, poolFactory, tally } from "./fakes.js";

function manager(configs = [clusterConfig({ endpoints: [endpoint("10.0.0.1"), endpoint("10.0.0.2")] })]) {
  const stats = new StatsStore();
  const { pools, createPool } = poolFactory();
  const cm = createClusterManager(configs, { stats, createPool, random: () => 0 });
  return { cm, stats, pools };
}

describe("static cluster", () => {
  it("rotates exactly over its hosts", async () => {
    const { cm } = manager();
    await cm.initialize();
    const c = cm.get("service")!;
    expect(picks(c, 4)).toEqual(["10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.2"]);
    expect(c.hosts.map((h) => h.key)).toEqual(["10.0.0.1:80", "10.0.0.2:80"]);
    await cm.close();
  });

  it("sets membership gauges and collapses duplicate endpoints", async () => {
    const { cm, stats } = manager([
      clusterConfig({
        name: "dup",
        endpoints: [endpoint("10.0.0.1"), endpoint("10.0.0.1"), endpoint("::1", 81)],
      }),
    ]);
    const c = cm.get("dup")!;
    expect(c.hosts.map((h) => h.key)).toEqual(["10.0.0.1:80", "[::1]:81"]);
    expect(stats.snapshot().gauges["cluster.dup.membership_total"]).toBe(2);
    expect(stats.snapshot().gauges["cluster.dup.membership_healthy"]).toBe(2);
    await cm.close();
  });

  it("honours endpoint weights", async () => {
    const { cm } = manager([
      clusterConfig({ endpoints: [endpoint("10.0.0.1", 80, 3), endpoint("10.0.0.2")] }),
    ]);
    const c = cm.get("service")!;
    expect(tally(picks(c, 400))).toEqual({ "10.0.0.1": 300, "10.0.0.2": 100 });
    await cm.close();
  });

  it("never chooses an unhealthy or draining host, and returns null when none remain", async () => {
    // Panic mode off: at the default 50% threshold, too few healthy hosts means every host is balanced.
    const { cm } = manager([
      clusterConfig({
        endpoints: [endpoint("10.0.0.1"), endpoint("10.0.0.2"), endpoint("10.0.0.3")],
        healthyPanicThreshold: 0,
      }),
    ]);
    const c = cm.get("service")!;
    const [h1, h2, h3] = c.hosts;
    h2!.healthy = false;
    expect(new Set(picks(c, 10))).toEqual(new Set(["10.0.0.1", "10.0.0.3"]));
    h1!.draining = true;
    expect(new Set(picks(c, 10))).toEqual(new Set(["10.0.0.3"]));
    h3!.healthy = false;
    expect(c.chooseHost()).toBeNull();
    h2!.healthy = true;
    // Health is re-read when the balancer meets an ineligible host; a recovered host needs a refresh.
    (c as unknown as { refreshLoadBalancer(): void }).refreshLoadBalancer();
    expect(picks(c, 3)).toEqual(["10.0.0.2", "10.0.0.2", "10.0.0.2"]);
    await cm.close();
  });

  it("returns null for a cluster without endpoints", async () => {
    const { cm } = manager([clusterConfig({ endpoints: [] })]);
    expect(cm.get("service")!.chooseHost()).toBeNull();
    await cm.close();
  });

  it("creates one pool per host on first use, with the cluster's config and stats", async () => {
    const { cm, pools } = manager();
    const c = cm.get("service")!;
    expect(pools).toHaveLength(0);
    const h = c.chooseHost()!;
    const p = c.pool(h);
    expect(c.pool(h)).toBe(p);
    expect(pools).toHaveLength(1);
    expect(pools[0]!.host).toBe(h);
    expect(pools[0]!.cluster).toBe(c.config);
    expect(pools[0]!.stats).toBe(c.stats);
    c.pool(c.chooseHost()!);
    expect(pools).toHaveLength(2);
    await cm.close();
    expect(pools.every((x) => x.destroyed)).toBe(true);
    expect(c.chooseHost()).toBeNull();
  });
});

describe("cluster manager", () => {
  it("looks clusters up by name and lists them in config order", async () => {
    const { cm, stats } = manager([
      clusterConfig({ name: "a", endpoints: [endpoint("10.0.0.1")] }),
      clusterConfig({ name: "b", lbPolicy: "random", endpoints: [endpoint("10.0.0.2")] }),
      clusterConfig({ name: "c", lbPolicy: "least_request", endpoints: [endpoint("10.0.0.3")] }),
    ]);
    expect(cm.all().map((c) => c.name)).toEqual(["a", "b", "c"]);
    expect(cm.get("b")!.chooseHost()!.address).toBe("10.0.0.2");
    expect(cm.get("c")!.chooseHost()!.address).toBe("10.0.0.3");
    expect(cm.get("nope")).toBeUndefined();
    expect(stats.snapshot().gauges["cluster_manager.active_clusters"]).toBe(3);
    await cm.close();
  });
});
