/** Round-robin fairness: exact rotation, shares under concurrency, weights, DNS membership changes. */
import { waitUntil } from "../../lib/wait.js";
import { expect, expectShares } from "../harness/assert.js";
import { CONSISTENTLY, counts, instanceOf, pool, request, spread } from "../harness/client.js";
import { WAITS } from "../harness/timeouts.js";
import { ENDPOINT_WEIGHTS } from "../harness/topologies.js";
import type { CheckContext, ConformanceTest, Endpoint, RunningTopology } from "../harness/types.js";

/**
 * `n` GETs one after another on ONE keep-alive connection, or with `fresh` each on a new connection;
 * returns who answered each.
 */
async function sequential(ep: Endpoint, n: number, fresh = false): Promise<string[]> {
  const agent = fresh ? undefined : pool(1);
  try {
    const seen: string[] = [];
    for (let i = 0; i < n; i++) seen.push(instanceOf(await request(ep, `/?i=${i}`, { agent })));
    return seen;
  } finally {
    agent?.destroy();
  }
}

/**
 * Sequential requests rotate exactly: a fixed cycle that visits every backend once per round. With
 * `fresh` each request opens its own connection: a balancer kept per downstream connection would
 * send every one of them to the same first backend.
 */
function rotation(backends: string[], fresh = false): Pick<ConformanceTest, "criterion" | "check"> {
  const n = backends.length * 10;
  const how = fresh ? "each on a new connection" : "on one keep-alive connection";
  return {
    criterion:
      `${n} sequential GETs ${how}: the first ${backends.length} are answered by ${words(backends)}, ` +
      `one each, and every later answer repeats that cycle (answer i comes from the same backend as answer i - ${backends.length})`,
    async check({ topo, measure }: CheckContext) {
      const seen = await sequential(topo.listener(), n, fresh);
      measure("sequence", seen.slice(0, backends.length * 3).join(" "));
      measure("counts", counts(seen));
      const cycle = seen.slice(0, backends.length);
      expect(
        [...cycle].sort().join() === [...backends].sort().join(),
        `first ${backends.length} answers ${cycle.join(", ")} are not each backend once (${backends.join(", ")})`,
      );
      const broken = seen.findIndex((s, i) => s !== cycle[i % cycle.length]);
      expect(broken === -1, `rotation broke at request ${broken}: ${seen.slice(0, broken + 1).join(" ")}`);
    },
  };
}

/** "a, b and c". */
function words(items: string[]): string {
  return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** Until `fn`'s window of answers came only from `backends` (all of them), three windows in a row. */
async function converge(ep: Endpoint, backends: string[], what: string): Promise<void> {
  await waitUntil(
    what,
    async () => {
      const seen = new Set(await spread(ep, "/", backends.length * 4, 2));
      return seen.size === backends.length && backends.every((b) => seen.has(b));
    },
    { ...CONSISTENTLY, withinMs: WAITS.converge, intervalMs: 250 },
  );
}

interface SpreadOptions {
  total?: number;
  connections?: number;
  tolerancePct?: number;
  /** Measured as. */
  name?: string;
  path?: string;
  fresh?: boolean;
}

/**
 * `total` GETs of `path` over `connections` concurrent keep-alive connections (with `fresh`: that many
 * in flight, each on a new connection), measured as `name`: every backend's count within
 * `tolerancePct` points of its weight's share (default: 600 over 10, +-5%, measured as `counts`).
 */
async function expectSpread(
  { topo, measure }: CheckContext,
  expected: Record<string, number>,
  {
    total = 600,
    connections = 10,
    tolerancePct = 5,
    name = "counts",
    path = "/",
    fresh = false,
  }: SpreadOptions = {},
): Promise<void> {
  const c = counts(await spread(topo.listener(), path, total, connections, fresh));
  measure(name, c);
  expectShares(c, expected, tolerancePct);
}

/** `expectSpread`'s criterion in words, from the same numbers. */
function spreadWords(
  expected: Record<string, number>,
  { total = 600, connections = 10, tolerancePct = 5, path = "/", fresh = false }: SpreadOptions = {},
): string {
  const sum = Object.values(expected).reduce((a, b) => a + b, 0);
  const [first, ...rest] = Object.entries(expected).map(
    ([name, w]) => `${name} ${Number(((100 * w) / sum).toFixed(1))}%`,
  );
  const answers = `${first?.replace(" ", " answers ")}${rest.length > 0 ? `, ${words(rest)}` : ""}`;
  const how = fresh
    ? `${connections} in flight, each on a new connection`
    : connections === 1
      ? "on one keep-alive connection"
      : `over ${connections} concurrent keep-alive connections`;
  return (
    `of ${total.toLocaleString("en-US")} GETs of ${path}, ${how}, ${answers} ` +
    `(each +- ${tolerancePct} points), and nothing else answers any`
  );
}

/** A share test's criterion and check, from one set of numbers. */
function shares(
  expected: Record<string, number>,
  opts: SpreadOptions = {},
): Pick<ConformanceTest, "criterion" | "check"> {
  return { criterion: spreadWords(expected, opts), check: (ctx) => expectSpread(ctx, expected, opts) };
}

/** Equal weights over `backends`. */
const even = (backends: string[]) => Object.fromEntries(backends.map((b) => [b, 1]));

/**
 * A DNS membership change: even shares over `before` (a short, loose sample), then `change`, then
 * traffic converges on exactly `after` (measured as `settledAs` ms) and spreads evenly over it.
 */
function membership(
  before: string[],
  change: { words: string; run: (topo: RunningTopology) => Promise<void> },
  after: string[],
  settledAs: string,
  what: string,
): Pick<ConformanceTest, "criterion" | "check"> {
  const sample = { total: before.length * 30, connections: 2, tolerancePct: 10, name: "before" };
  const window = after.length * 4;
  return {
    criterion:
      `before: ${spreadWords(even(before), sample)}; then ${change.words}, and within ` +
      `${WAITS.converge / 1000} s three windows in a row of ${window} GETs (2 connections) are each ` +
      `answered by ${words(after)}, every one of them and nothing else; then ${spreadWords(even(after))}`,
    async check(ctx) {
      await expectSpread(ctx, even(before), sample);
      const changed = Date.now();
      await change.run(ctx.topo);
      await converge(ctx.topo.listener(), after, what);
      ctx.measure(settledAs, Date.now() - changed);
      await expectSpread(ctx, even(after));
    },
  };
}

export const roundRobinTests: ConformanceTest[] = [
  {
    id: "rr-rotation-2",
    description: "sequential requests on one connection alternate exactly between 2 backends",
    feature: "round-robin",
    topology: "front",
    ...rotation(["service1", "service2"]),
  },
  {
    id: "rr-rotation-3",
    description: "sequential requests on one connection rotate exactly across 3 backends",
    feature: "round-robin",
    topology: "front-3",
    ...rotation(["service1", "service2", "service3"]),
  },
  {
    id: "rr-rotation-fresh-2",
    description: "sequential requests, each on a new connection, alternate exactly between 2 backends",
    feature: "round-robin",
    topology: "front",
    ...rotation(["service1", "service2"], true),
  },
  {
    id: "rr-rotation-fresh-3",
    description: "sequential requests, each on a new connection, rotate exactly across 3 backends",
    feature: "round-robin",
    topology: "front-3",
    ...rotation(["service1", "service2", "service3"], true),
  },
  {
    id: "rr-concurrent-share-fresh",
    description:
      "600 requests, 10 in flight, each on a new connection: each of 2 backends within +-5% of 1/2",
    feature: "round-robin",
    topology: "front",
    ...shares({ service1: 1, service2: 1 }, { fresh: true }),
  },
  {
    id: "rr-concurrent-share",
    description: "600 requests from 10 concurrent connections: each of 2 backends within +-5% of 1/2",
    feature: "round-robin",
    topology: "front",
    ...shares({ service1: 1, service2: 1 }),
  },
  {
    id: "rr-concurrent-share-3",
    description: "600 requests from 10 concurrent connections: each of 3 backends within +-5% of 1/3",
    feature: "round-robin",
    topology: "front-3",
    ...shares({ service1: 1, service2: 1, service3: 1 }),
  },
  {
    id: "rr-weighted-70-30",
    description:
      "weighted_clusters 70/30: 2,000 requests from 10 connections within +-5% of 0.7/0.3 (the cluster " +
      "is drawn at random per request, as in Envoy: with 2,000 draws 5 points are 4.9 standard " +
      "deviations, where 600 draws made them 2.7 and failed about one run in 140)",
    feature: "weighted",
    topology: "weighted",
    ...shares({ service1: 7, service2: 3 }, { total: 2000 }),
  },
  {
    id: "lb-endpoint-weights-3-1",
    description:
      "endpoint load_balancing_weight 3 and 1: 400 requests, 10 in flight on new connections, within +-5% of 3/4 and 1/4",
    feature: "lb-weights",
    topology: "routes",
    ...shares({ ...ENDPOINT_WEIGHTS }, { total: 400, path: "/lbw", fresh: true }),
  },
  {
    id: "lb-endpoint-weights-3-1-one-connection",
    description:
      "endpoint load_balancing_weight 3 and 1: 400 requests on one connection, within +-5% of 3/4 and 1/4",
    feature: "lb-weights",
    topology: "routes",
    ...shares({ ...ENDPOINT_WEIGHTS }, { total: 400, connections: 1, path: "/lbw" }),
  },
  {
    id: "rr-dns-join",
    description: "a third echo joining the strict_dns name gets its 1/3 share after the DNS refresh (1 s)",
    feature: "dns-membership",
    topology: "dns-join",
    requires: ["dynamicDns"],
    timeoutMs: 90_000,
    ...membership(
      ["echo-a", "echo-b"],
      { words: "echo-c starts and joins the name", run: (topo) => topo.startEcho("echo-c") },
      ["echo-a", "echo-b", "echo-c"],
      "joinedAfterMs",
      "echo-c never got traffic",
    ),
  },
  {
    id: "rr-dns-leave",
    description: "a stopped echo gets no traffic once DNS drops it; the other two stay within +-5% of 1/2",
    feature: "dns-membership",
    topology: "dns-leave",
    requires: ["dynamicDns"],
    timeoutMs: 90_000,
    ...membership(
      ["echo-a", "echo-b", "echo-c"],
      { words: "echo-c stops and leaves the name", run: (topo) => topo.stopEcho("echo-c") },
      ["echo-a", "echo-b"],
      "settledAfterMs",
      "traffic never settled on echo-a and echo-b",
    ),
  },
];
