import { describe, expect, it } from "vitest";
import { LeastRequestLoadBalancer } from "../../load_balancer/least_request.js";
import { Host } from "../../upstream/host.js";
import { count, seeded } from "./helpers.js";

function host(name: string, active: number, weight = 1): Host {
  const h = new Host(`10.0.0.${name.charCodeAt(0) - 96}`, 80, weight, name);
  h.stats.rq_active = active;
  return h;
}

describe("least_request", () => {
  it("returns null without hosts", () => {
    expect(new LeastRequestLoadBalancer(seeded(1)).choose()).toBeNull();
  });

  it("with two choices prefers the less loaded host (a busy host wins only when sampled twice)", () => {
    const lb = new LeastRequestLoadBalancer(seeded(1));
    lb.setHosts([host("busy", 10), host("idle", 0)]);
    const m = count(lb, 2000);
    // P2C with replacement over 2 hosts: busy only when both samples hit it (p = 1/4).
    expect(m.get("idle")!).toBeGreaterThan(1350);
    expect(m.get("busy")!).toBeGreaterThan(300);
  });

  it("ranks 3 hosts by load: the most loaded wins only when sampled twice", () => {
    const lb = new LeastRequestLoadBalancer(seeded(2));
    lb.setHosts([host("a", 0), host("b", 5), host("c", 9)]);
    const m = count(lb, 3000);
    // c wins only when both samples are c: 1/9.
    expect(m.get("c")!).toBeLessThan(500);
    expect(m.get("a")!).toBeGreaterThan(m.get("b")!);
    expect(m.get("b")!).toBeGreaterThan(m.get("c")!);
  });

  it("with choice_count = 1 degrades to random", () => {
    const lb = new LeastRequestLoadBalancer(seeded(3), 1);
    lb.setHosts([host("busy", 100), host("idle", 0)]);
    const m = count(lb, 2000);
    expect(m.get("busy")!).toBeGreaterThan(800);
    expect(m.get("idle")!).toBeGreaterThan(800);
  });

  it("follows active requests as they change", () => {
    const a = host("a", 0);
    const b = host("b", 0);
    const lb = new LeastRequestLoadBalancer(seeded(4), 5);
    lb.setHosts([a, b]);
    a.stats.rq_active = 3;
    const m = count(lb, 500);
    expect(m.get("b")!).toBeGreaterThan(450);
  });

  it("with unequal weights uses weight / (active + 1)", () => {
    const a = host("a", 0, 2);
    const b = host("b", 0, 1);
    const lb = new LeastRequestLoadBalancer(seeded(5));
    lb.setHosts([a, b]);
    const idle = count(lb, 300);
    expect(idle.get("a")).toBe(200);
    expect(idle.get("b")).toBe(100);
    // a now carries 5 active requests: its effective weight 2/6 falls below b's 1/1.
    a.stats.rq_active = 5;
    const loaded = count(lb, 400);
    expect(loaded.get("b")!).toBeGreaterThan(loaded.get("a")! * 2);
  });
});
