import { describe, expect, it } from "vitest";
import { createLoadBalancer } from "../../load_balancer/index.js";
import { RandomLoadBalancer } from "../../load_balancer/random.js";
import { Host } from "../../upstream/host.js";
import { count, seeded } from "./helpers.js";

function hosts(n: number, weight = (_i: number) => 1): Host[] {
  return Array.from({ length: n }, (_, i) => new Host(`10.0.0.${i + 1}`, 80, weight(i), `h${i}`));
}

describe("random", () => {
  it("returns null without hosts", () => {
    expect(new RandomLoadBalancer(seeded(1)).choose()).toBeNull();
  });

  it("covers all hosts roughly evenly", () => {
    const lb = new RandomLoadBalancer(seeded(42));
    lb.setHosts(hosts(4));
    const m = count(lb, 4000);
    expect(m.size).toBe(4);
    for (const v of m.values()) {
      expect(v).toBeGreaterThan(800);
      expect(v).toBeLessThan(1200);
    }
  });

  it("is deterministic with an injected source, and tolerates a source returning 1", () => {
    const lb = new RandomLoadBalancer(() => 1);
    const hs = hosts(3);
    lb.setHosts(hs);
    expect(lb.choose()).toBe(hs[2]);
  });

  it("honours weights proportionally", () => {
    const lb = new RandomLoadBalancer(seeded(9));
    lb.setHosts(hosts(2, (i) => (i === 0 ? 3 : 1)));
    const m = count(lb, 4000);
    expect(m.get("h0")!).toBeGreaterThan(2800);
    expect(m.get("h0")!).toBeLessThan(3200);
  });
});

describe("createLoadBalancer", () => {
  it("builds each policy", () => {
    const hs = hosts(2);
    for (const policy of ["round_robin", "least_request", "random"] as const) {
      const lb = createLoadBalancer(policy, { random: seeded(1) });
      lb.setHosts(hs);
      expect(hs).toContain(lb.choose());
    }
  });
});
