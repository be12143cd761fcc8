import { describe, expect, it, vi } from "vitest";
import { StatsStore } from "../../stats/store.js";
import type { Cluster } from "../../upstream/cluster.js";
import { createClusterManager, DnsFeed } from "../../upstream/cluster_manager.js";
import {
  clusterConfig,
  dnsClusterSetup,
  endpoint,
  FakeDns,
  picks,
  poolFactory,
  tally,
  useFakeTimers,
} from "./fakes.js";

function setup(overrides: Parameters<typeof clusterConfig>[0] = {}) {
  return dnsClusterSetup({ type: "strict_dns", endpoints: [endpoint("service1")], ...overrides });
}

const keys = (c: Cluster) => c.hosts.map((h) => `${h.key}${h.draining ? " draining" : ""}`);

describe("strict_dns cluster", () => {
  useFakeTimers();

  it("makes every returned address a host, rotating exactly, with the configured port", async () => {
    const { cm, cluster, dns, counter, gauge } = setup({ endpoints: [endpoint("service1", 8080)] });
    dns.answers.set("service1", ["10.0.0.1", "10.0.0.2"]);
    await cm.initialize();
    expect(keys(cluster)).toEqual(["10.0.0.1:8080", "10.0.0.2:8080"]);
    expect(cluster.hosts[0]!.hostname).toBe("service1");
    expect(picks(cluster, 4)).toEqual(["10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.2"]);
    expect(counter("update_attempt")).toBe(1);
    expect(counter("update_success")).toBe(1);
    expect(gauge("membership_total")).toBe(2);
    expect(gauge("membership_healthy")).toBe(2);
    expect(dns.calls).toEqual([{ name: "service1", family: "auto" }]);
    await cm.close();
  });

  it("does not resolve before initialize() nor in the request path", async () => {
    const { cm, cluster, dns } = setup();
    dns.answers.set("service1", ["10.0.0.1"]);
    expect(cluster.chooseHost()).toBeNull();
    expect(dns.calls).toHaveLength(0);
    await cm.initialize();
    picks(cluster, 10);
    expect(dns.calls).toHaveLength(1);
    await cm.close();
  });

  it("re-resolves every dns_refresh_rate; a new address gets its share", async () => {
    const { cm, cluster, dns, counter } = setup({ dnsRefreshRateMs: 1000 });
    dns.answers.set("service1", ["10.0.0.1", "10.0.0.2"]);
    await cm.initialize();
    dns.answers.set("service1", ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
    await vi.advanceTimersByTimeAsync(999);
    expect(dns.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(dns.calls).toHaveLength(2);
    expect(keys(cluster)).toEqual(["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]);
    expect(tally(picks(cluster, 300))).toEqual({ "10.0.0.1": 100, "10.0.0.2": 100, "10.0.0.3": 100 });
    await vi.advanceTimersByTimeAsync(3000);
    expect(counter("update_attempt")).toBe(5);
    expect(counter("update_success")).toBe(5);
    await cm.close();
  });

  it("keeps Host objects (stats, pools) for addresses that stay", async () => {
    const { cm, cluster, dns } = setup();
    dns.answers.set("service1", ["10.0.0.1"]);
    await cm.initialize();
    const h = cluster.hosts[0]!;
    const pool = cluster.pool(h);
    dns.answers.set("service1", ["10.0.0.2", "10.0.0.1"]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(cluster.hosts).toContain(h);
    expect(cluster.pool(h)).toBe(pool);
    await cm.close();
  });

  it("a removed address stops getting traffic, its pool drains, then it leaves the host list", async () => {
    const { cm, cluster, dns, pools, gauge } = setup();
    dns.answers.set("service1", ["10.0.0.1", "10.0.0.2"]);
    await cm.initialize();
    for (const h of cluster.hosts) cluster.pool(h);
    dns.answers.set("service1", ["10.0.0.1"]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(new Set(picks(cluster, 10))).toEqual(new Set(["10.0.0.1"]));
    expect(keys(cluster)).toEqual(["10.0.0.1:80", "10.0.0.2:80 draining"]);
    expect(gauge("membership_total")).toBe(1);
    const [p1, p2] = pools;
    expect(p1!.draining).toBe(false);
    expect(p2!.draining).toBe(true);
    expect(p2!.destroyed).toBe(false);
    p2!.finishDrain();
    await vi.advanceTimersByTimeAsync(0);
    expect(keys(cluster)).toEqual(["10.0.0.1:80"]);
    await cm.close();
    expect(p1!.destroyed).toBe(true);
  });

  it("an address that comes back while its old pool drains is a new host with a new pool", async () => {
    const { cm, cluster, dns, pools } = setup();
    dns.answers.set("service1", ["10.0.0.1", "10.0.0.2"]);
    await cm.initialize();
    const old = cluster.hosts[1]!;
    cluster.pool(old);
    dns.answers.set("service1", ["10.0.0.1"]);
    await vi.advanceTimersByTimeAsync(5000);
    dns.answers.set("service1", ["10.0.0.1", "10.0.0.2"]);
    await vi.advanceTimersByTimeAsync(5000);
    const fresh = cluster.hosts.find((h) => h.key === "10.0.0.2:80" && !h.draining)!;
    expect(fresh).not.toBe(old);
    expect(cluster.pool(fresh)).not.toBe(pools[0]);
    expect(new Set(picks(cluster, 4))).toEqual(new Set(["10.0.0.1", "10.0.0.2"]));
    await cm.close();
    expect(pools.every((p) => p.destroyed)).toBe(true);
  });

  it("a DNS failure keeps the hosts and counts update_failure", async () => {
    const { cm, cluster, dns, counter } = setup();
    dns.answers.set("service1", ["10.0.0.1", "10.0.0.2"]);
    await cm.initialize();
    dns.answers.set("service1", new Error("EAI_AGAIN"));
    await vi.advanceTimersByTimeAsync(5000);
    expect(keys(cluster)).toEqual(["10.0.0.1:80", "10.0.0.2:80"]);
    expect(picks(cluster, 2)).toHaveLength(2);
    expect(counter("update_failure")).toBe(1);
    expect(counter("update_success")).toBe(1);
    // It keeps trying.
    dns.answers.set("service1", ["10.0.0.3"]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(keys(cluster)).toEqual(["10.0.0.3:80"]);
    await cm.close();
  });

  it("a successful empty answer empties the cluster", async () => {
    const { cm, cluster, dns, gauge } = setup();
    dns.answers.set("service1", ["10.0.0.1"]);
    await cm.initialize();
    dns.answers.set("service1", []);
    await vi.advanceTimersByTimeAsync(5000);
    expect(cluster.hosts).toEqual([]);
    expect(cluster.chooseHost()).toBeNull();
    expect(gauge("membership_total")).toBe(0);
    await cm.close();
  });

  it("a failed first resolution leaves the cluster empty without failing initialize()", async () => {
    const { cm, cluster, dns, counter } = setup();
    dns.answers.set("service1", new Error("SERVFAIL"));
    await expect(cm.initialize()).resolves.toBeUndefined();
    expect(cluster.chooseHost()).toBeNull();
    expect(counter("update_failure")).toBe(1);
    dns.answers.set("service1", ["10.0.0.1"]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(cluster.chooseHost()!.address).toBe("10.0.0.1");
    await cm.close();
  });

  it("de-duplicates addresses within an answer and across names", async () => {
    const { cm, cluster, dns } = setup({ endpoints: [endpoint("a"), endpoint("b")] });
    dns.answers.set("a", ["10.0.0.1", "10.0.0.1", "10.0.0.2"]);
    dns.answers.set("b", ["10.0.0.2", "10.0.0.3"]);
    await cm.initialize();
    expect(keys(cluster)).toEqual(["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]);
    // 10.0.0.2 stays while name b still returns it.
    dns.answers.set("a", ["10.0.0.1"]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(keys(cluster)).toEqual(["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]);
    await cm.close();
  });

  it("keeps each name's hosts when only another name fails", async () => {
    const { cm, cluster, dns } = setup({ endpoints: [endpoint("a"), endpoint("b")] });
    dns.answers.set("a", ["10.0.0.1"]);
    dns.answers.set("b", new Error("timeout"));
    await cm.initialize();
    expect(keys(cluster)).toEqual(["10.0.0.1:80"]);
    dns.answers.set("b", ["10.0.0.2"]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(keys(cluster)).toEqual(["10.0.0.1:80", "10.0.0.2:80"]);
    await cm.close();
  });

  it("passes dns_lookup_family to the resolver", async () => {
    const { cm, dns } = setup({ dnsLookupFamily: "v6_only" });
    dns.answers.set("service1", ["::1"]);
    await cm.initialize();
    expect(dns.calls[0]!.family).toBe("v6_only");
    await cm.close();
  });

  it("close() leaves no timers and ignores an answer that arrives afterwards", async () => {
    const { cm, cluster, dns } = setup();
    dns.answers.set("service1", ["10.0.0.1"]);
    await cm.initialize();
    expect(vi.getTimerCount()).toBe(1);
    await cm.close();
    expect(vi.getTimerCount()).toBe(0);

    // A lookup in flight when close() runs must neither add hosts nor schedule a new timer.
    const late = setup();
    let answer!: (a: string[]) => void;
    late.dns.answers.set("service1", new Promise((resolve) => (answer = resolve)));
    const pending = late.cm.initialize();
    await late.cm.close();
    answer(["10.0.0.9"]);
    await pending;
    expect(vi.getTimerCount()).toBe(0);
    expect(late.cluster.hosts).toEqual([]);
    expect(late.cluster.chooseHost()).toBeNull();
    expect(late.counter("update_success")).toBe(0);
    expect(cluster.hosts).toEqual([]);
  });
});

describe("DNS lookups with --concurrency N: once, in the primary (as Envoy's main thread)", () => {
  useFakeTimers();

  it("worker clusters follow the primary's outcomes and resolve nothing themselves", async () => {
    const feeds = [new DnsFeed(), new DnsFeed()];
    const dns = new FakeDns();
    dns.answers.set("service1", ["10.0.0.1", "10.0.0.2"]);
    const config = clusterConfig({
      type: "strict_dns",
      endpoints: [endpoint("service1")],
      dnsRefreshRateMs: 1000,
    });
    const primaryStats = new StatsStore();
    const primary = createClusterManager([config], {
      stats: primaryStats,
      createPool: poolFactory().createPool,
      resolver: dns.resolver,
      onDnsOutcome: (o) => {
        for (const f of feeds) f.push(o);
      },
    });
    const workerStats = feeds.map(() => new StatsStore());
    const workers = feeds.map((feed, i) =>
      createClusterManager([config], {
        stats: workerStats[i] as StatsStore,
        createPool: poolFactory().createPool,
        dnsFeed: feed,
        random: () => 0,
      }),
    );
    // A worker may start before the first answer: it waits for it.
    const started = Promise.all(workers.map((w) => w.initialize()));
    await primary.initialize();
    await started;
    for (const w of workers) expect(keys(w.get("service")!)).toEqual(["10.0.0.1:80", "10.0.0.2:80"]);
    dns.answers.set("service1", ["10.0.0.3"]);
    await vi.advanceTimersByTimeAsync(1000);
    for (const w of workers) expect(picks(w.get("service")!, 2)).toEqual(["10.0.0.3", "10.0.0.3"]);
    // Two lookups in all (start, one refresh), counted once, by the primary.
    expect(dns.calls).toHaveLength(2);
    expect(primaryStats.snapshot().counters["cluster.service.update_attempt"]).toBe(2);
    for (const st of workerStats)
      expect(st.snapshot().counters["cluster.service.update_attempt"] ?? 0).toBe(0);
    // A failed lookup changes nothing in the workers.
    dns.answers.set("service1", new Error("SERVFAIL"));
    await vi.advanceTimersByTimeAsync(1000);
    for (const w of workers) expect(picks(w.get("service")!, 1)).toEqual(["10.0.0.3"]);
    await Promise.all([primary.close(), ...workers.map((w) => w.close())]);
  });

  it("a worker that subscribes late gets the last answer, not a later failure", () => {
    const feed = new DnsFeed();
    feed.push({ cluster: "service", index: 0, addresses: ["10.0.0.1"] });
    feed.push({ cluster: "service", index: 0, addresses: null });
    const heard: Array<string[] | null> = [];
    feed.subscribe("service", 0, (a) => heard.push(a));
    expect(heard).toEqual([["10.0.0.1"]]);
  });
});
