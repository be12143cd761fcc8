import { describe, expect, it } from "vitest";
import { RoundRobinLoadBalancer } from "../../load_balancer/round_robin.js";
import { Host } from "../../upstream/host.js";
import { seeded } from "./helpers.js";

function host(name: string, weight = 1): Host {
  return new Host(`10.0.0.${name.charCodeAt(0) - 96}`, 80, weight, name);
}

function picks(lb: RoundRobinLoadBalancer, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(lb.choose()?.hostname ?? "null");
  return out;
}

describe("round_robin", () => {
  it("returns null without hosts", () => {
    const lb = new RoundRobinLoadBalancer(() => 0);
    expect(lb.choose()).toBeNull();
    lb.setHosts([]);
    expect(lb.choose()).toBeNull();
  });

  it("rotates exactly across 2 hosts", () => {
    const lb = new RoundRobinLoadBalancer(() => 0);
    lb.setHosts([host("a"), host("b")]);
    expect(picks(lb, 6)).toEqual(["a", "b", "a", "b", "a", "b"]);
  });

  it("rotates exactly across 3 hosts from an injected random start", () => {
    const lb = new RoundRobinLoadBalancer(() => 0.5);
    lb.setHosts([host("a"), host("b"), host("c")]);
    expect(picks(lb, 7)).toEqual(["b", "c", "a", "b", "c", "a", "b"]);
  });

  it("starts at a random index, so different seeds start on different hosts", () => {
    const starts = new Set<string>();
    const hs = [host("a"), host("b"), host("c")];
    for (let seed = 1; seed <= 30; seed++) {
      const lb = new RoundRobinLoadBalancer(seeded(seed));
      lb.setHosts(hs);
      starts.add(lb.choose()!.hostname);
    }
    expect(starts.size).toBe(3);
  });

  it("keeps the rotation going when a host is added", () => {
    const lb = new RoundRobinLoadBalancer(() => 0);
    const a = host("a");
    const b = host("b");
    lb.setHosts([a, b]);
    expect(picks(lb, 3)).toEqual(["a", "b", "a"]);
    lb.setHosts([a, b, host("c")]);
    expect(picks(lb, 6)).toEqual(["b", "c", "a", "b", "c", "a"]);
  });

  it("keeps the rotation going when the last-picked or the next host is removed", () => {
    const lb = new RoundRobinLoadBalancer(() => 0);
    const [a, b, c, d] = [host("a"), host("b"), host("c"), host("d")];
    lb.setHosts([a, b, c, d]);
    expect(picks(lb, 2)).toEqual(["a", "b"]);
    lb.setHosts([a, c, d]); // b (picked last) left: c was due next
    expect(picks(lb, 4)).toEqual(["c", "d", "a", "c"]);
    lb.setHosts([a, c]); // d (due next) left: wrap to a
    expect(picks(lb, 3)).toEqual(["a", "c", "a"]);
  });

  it("spreads 3:1 weights smoothly and exactly: 300/100 over 400 picks, one b in every 4", () => {
    const lb = new RoundRobinLoadBalancer(seeded(7));
    lb.setHosts([host("a", 3), host("b", 1)]);
    const seq = picks(lb, 400);
    expect(seq.filter((x) => x === "a").length).toBe(300);
    expect(seq.filter((x) => x === "b").length).toBe(100);
    for (let i = 0; i + 4 <= seq.length; i++) {
      expect(seq.slice(i, i + 4).filter((x) => x === "b").length).toBe(1);
    }
  });

  it("interleaves 3:1 as a,a,b,a (not a,a,a,b bursts) from a fixed start", () => {
    const lb = new RoundRobinLoadBalancer(() => 0);
    lb.setHosts([host("a", 3), host("b", 1)]);
    expect(picks(lb, 8)).toEqual(["a", "a", "b", "a", "a", "a", "b", "a"]);
  });

  it("spreads 5:3:2 weights exactly over whole periods and never bursts a light host", () => {
    const lb = new RoundRobinLoadBalancer(seeded(3));
    lb.setHosts([host("a", 5), host("b", 3), host("c", 2)]);
    const seq = picks(lb, 1000);
    expect(seq.filter((x) => x === "a").length).toBe(500);
    expect(seq.filter((x) => x === "b").length).toBe(300);
    expect(seq.filter((x) => x === "c").length).toBe(200);
    for (let i = 1; i < seq.length; i++) {
      if (seq[i] !== "a") expect(seq[i]).not.toBe(seq[i - 1]);
    }
  });

  it("gives a newly added weighted host its share", () => {
    const lb = new RoundRobinLoadBalancer(seeded(11));
    const a = host("a", 2);
    const b = host("b", 1);
    lb.setHosts([a, b]);
    picks(lb, 5);
    lb.setHosts([a, b, host("c", 1)]);
    const seq = picks(lb, 400);
    expect(seq.filter((x) => x === "a").length).toBe(200);
    expect(seq.filter((x) => x === "b").length).toBe(100);
    expect(seq.filter((x) => x === "c").length).toBe(100);
  });
});
