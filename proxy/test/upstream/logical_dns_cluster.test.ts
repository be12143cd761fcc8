import { describe, expect, it, vi } from "vitest";
import { dnsClusterSetup, endpoint, picks, useFakeTimers } from "./fakes.js";

function setup() {
  return dnsClusterSetup({
    type: "logical_dns",
    endpoints: [endpoint("api.internal", 8080, 1)],
    dnsRefreshRateMs: 2000,
  });
}

describe("logical_dns cluster", () => {
  useFakeTimers();

  it("has one host at the first resolved address", async () => {
    const { cm, cluster, dns } = setup();
    dns.answers.set("api.internal", ["10.0.0.7", "10.0.0.8"]);
    await cm.initialize();
    expect(cluster.hosts.map((h) => h.key)).toEqual(["10.0.0.7:8080"]);
    expect(cluster.hosts[0]!.hostname).toBe("api.internal");
    expect(picks(cluster, 3)).toEqual(["10.0.0.7", "10.0.0.7", "10.0.0.7"]);
    await cm.close();
  });

  it("re-resolves periodically and follows a new first address; the old pool drains", async () => {
    const { cm, cluster, dns, pools, counter } = setup();
    dns.answers.set("api.internal", ["10.0.0.7"]);
    await cm.initialize();
    const first = cluster.chooseHost()!;
    cluster.pool(first);
    dns.answers.set("api.internal", ["10.0.0.7", "10.0.0.9"]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(cluster.chooseHost()).toBe(first);
    dns.answers.set("api.internal", ["10.0.0.9", "10.0.0.7"]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(picks(cluster, 2)).toEqual(["10.0.0.9", "10.0.0.9"]);
    expect(pools[0]!.draining).toBe(true);
    expect(counter("update_attempt")).toBe(3);
    await cm.close();
  });

  it("keeps its address on a failed lookup or an empty answer", async () => {
    const { cm, cluster, dns, counter } = setup();
    dns.answers.set("api.internal", ["10.0.0.7"]);
    await cm.initialize();
    dns.answers.set("api.internal", new Error("timeout"));
    await vi.advanceTimersByTimeAsync(2000);
    dns.answers.set("api.internal", []);
    await vi.advanceTimersByTimeAsync(2000);
    expect(cluster.chooseHost()!.address).toBe("10.0.0.7");
    expect(counter("update_failure")).toBe(1);
    await cm.close();
  });

  it("is empty until the first successful lookup, and close() leaves no timers", async () => {
    const { cm, cluster, dns } = setup();
    dns.answers.set("api.internal", new Error("timeout"));
    await cm.initialize();
    expect(cluster.chooseHost()).toBeNull();
    expect(vi.getTimerCount()).toBe(1);
    await cm.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});
