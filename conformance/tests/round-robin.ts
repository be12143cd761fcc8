/** Round-robin fairness: exact rotation, shares under concurrency, weights, DNS membership changes. */
import { expect, expectShares } from "../harness/assert.js";
import { counts, eventually, instanceOf, pool, request, spread } from "../harness/client.js";
import type { CheckContext, ConformanceTest, Endpoint } from "../harness/types.js";

/** `n` GETs one after another on ONE keep-alive connection; returns who answered each. */
async function sequential(ep: Endpoint, n: number): Promise<string[]> {
  const agent = pool(1);
  try {
    const seen: string[] = [];
    for (let i = 0; i < n; i++) seen.push(instanceOf(await request(ep, `/?i=${i}`, { agent })));
    return seen;
  } finally {
    agent.destroy();
  }
}

/** Sequential requests rotate exactly: a fixed cycle that visits every backend once per round. */
function rotation(backends: string[]): ConformanceTest["check"] {
  return async ({ topo, measure }: CheckContext) => {
    const n = backends.length * 10;
    const seen = await sequential(topo.listener(), n);
    measure("sequence", seen.slice(0, backends.length * 3).join(" "));
    measure("counts", counts(seen));
    const cycle = seen.slice(0, backends.length);
    expect(
      [...cycle].sort().join() === [...backends].sort().join(),
      `first ${backends.length} answers ${cycle.join(", ")} are not each backend once (${backends.join(", ")})`,
    );
    const broken = seen.findIndex((s, i) => s !== cycle[i % cycle.length]);
    expect(broken === -1, `rotation broke at request ${broken}: ${seen.slice(0, broken + 1).join(" ")}`);
  };
}

/** Until `fn`'s window of answers came only from `backends` (all of them), three windows in a row. */
async function converge(ep: Endpoint, backends: string[], what: string): Promise<void> {
  await eventually(
    what,
    async () => {
      const seen = new Set(await spread(ep, "/", backends.length * 4, 2));
      return seen.size === backends.length && backends.every((b) => seen.has(b));
    },
    { withinMs: 20_000, intervalMs: 250 },
  );
}

export const roundRobinTests: ConformanceTest[] = [
  {
    id: "rr-rotation-2",
    description: "sequential requests on one connection alternate exactly between 2 backends",
    feature: "round-robin",
    topology: "front",
    check: rotation(["service1", "service2"]),
  },
  {
    id: "rr-rotation-3",
    description: "sequential requests on one connection rotate exactly across 3 backends",
    feature: "round-robin",
    topology: "front-3",
    check: rotation(["service1", "service2", "service3"]),
  },
  {
    id: "rr-concurrent-share",
    description: "600 requests from 10 concurrent connections: each of 2 backends within +-5% of 1/2",
    feature: "round-robin",
    topology: "front",
    async check({ topo, measure }) {
      const c = counts(await spread(topo.listener(), "/", 600, 10));
      measure("counts", c);
      expectShares(c, { service1: 0.5, service2: 0.5 });
    },
  },
  {
    id: "rr-concurrent-share-3",
    description: "600 requests from 10 concurrent connections: each of 3 backends within +-5% of 1/3",
    feature: "round-robin",
    topology: "front-3",
    async check({ topo, measure }) {
      const c = counts(await spread(topo.listener(), "/", 600, 10));
      measure("counts", c);
      expectShares(c, { service1: 1 / 3, service2: 1 / 3, service3: 1 / 3 });
    },
  },
  {
    id: "rr-weighted-70-30",
    description: "weighted_clusters 70/30: 600 requests from 10 connections within +-5% of 0.7/0.3",
    feature: "round-robin",
    topology: "weighted",
    async check({ topo, measure }) {
      const c = counts(await spread(topo.listener(), "/", 600, 10));
      measure("counts", c);
      expectShares(c, { service1: 0.7, service2: 0.3 });
    },
  },
  {
    id: "rr-dns-join",
    description: "a third echo joining the strict_dns name gets its 1/3 share after the DNS refresh (1 s)",
    feature: "round-robin",
    topology: "dns-join",
    requires: ["dynamicDns"],
    timeoutMs: 90_000,
    async check({ topo, measure }) {
      const before = counts(await spread(topo.listener(), "/", 60, 2));
      measure("before", before);
      expectShares(before, { "echo-a": 0.5, "echo-b": 0.5 }, 0.1);
      const joined = Date.now();
      await topo.startEcho("echo-c");
      await converge(topo.listener(), ["echo-a", "echo-b", "echo-c"], "echo-c never got traffic");
      measure("joinedAfterMs", Date.now() - joined);
      const c = counts(await spread(topo.listener(), "/", 600, 10));
      measure("counts", c);
      expectShares(c, { "echo-a": 1 / 3, "echo-b": 1 / 3, "echo-c": 1 / 3 });
    },
  },
  {
    id: "rr-dns-leave",
    description: "a stopped echo gets no traffic once DNS drops it; the other two stay within +-5% of 1/2",
    feature: "round-robin",
    topology: "dns-leave",
    requires: ["dynamicDns"],
    timeoutMs: 90_000,
    async check({ topo, measure }) {
      const before = counts(await spread(topo.listener(), "/", 90, 2));
      measure("before", before);
      expectShares(before, { "echo-a": 1 / 3, "echo-b": 1 / 3, "echo-c": 1 / 3 }, 0.1);
      const left = Date.now();
      await topo.stopEcho("echo-c");
      await converge(topo.listener(), ["echo-a", "echo-b"], "traffic never settled on echo-a and echo-b");
      measure("settledAfterMs", Date.now() - left);
      const c = counts(await spread(topo.listener(), "/", 600, 10));
      measure("counts", c);
      expectShares(c, { "echo-a": 0.5, "echo-b": 0.5 });
    },
  },
];
