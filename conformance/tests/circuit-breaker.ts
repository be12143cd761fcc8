/**
 * The `circuit-breaker` feature group: a cluster's `circuit_breakers` thresholds. With the echo
 * holding each answer (`echo_delay`), exactly the configured concurrency passes and the rest get
 * Envoy's overflow answer (503, `x-envoy-overloaded: true`, `reset reason: overflow`), counted in
 * Envoy's overflow counters; the `circuit_breakers.default.*_open` gauges are 1 under the load and 0
 * after it. Topology `breaker` (conformance/harness/topologies.ts).
 */
import { waitUntil } from "../../lib/wait.js";
import { expect } from "../harness/assert.js";
import { header, type Reply, request } from "../harness/client.js";
import { stats } from "../harness/stats.js";
import { WAITS } from "../harness/timeouts.js";
import { BREAKER_LIMITS } from "../harness/topologies.js";
import type { CheckContext, ConformanceTest, Endpoint } from "../harness/types.js";

const OVERFLOW_BODY = "upstream connect error or disconnect/reset before headers. reset reason: overflow";
const HOLD = `echo_delay=${WAITS.breakerHold}ms`;

/** A cluster's stat by its short name (`upstream_rq_active`); 0 when absent. */
async function clusterStat(admin: Endpoint, cluster: string, name: string): Promise<number> {
  return (await stats(admin)).get(`cluster.${cluster}.${name}`) ?? 0;
}

async function waitForStat(admin: Endpoint, cluster: string, name: string, atLeast: number): Promise<void> {
  await waitUntil(
    `cluster.${cluster}.${name} >= ${atLeast}`,
    async () => (await clusterStat(admin, cluster, name)) >= atLeast,
    { withinMs: WAITS.inFlight },
  );
}

/** The proxy's overflow answer, as Envoy gives it. */
function isOverflow(r: Reply): boolean {
  return (
    r.status === 503 &&
    header(r, "x-envoy-overloaded") === "true" &&
    header(r, "x-echo-instance") === undefined &&
    r.body.toString("utf8") === OVERFLOW_BODY
  );
}

function describe(r: Reply): string {
  return `${r.status} ${header(r, "x-echo-instance") ?? "(proxy)"} overloaded=${header(r, "x-envoy-overloaded")}`;
}

/** After the load: the cluster's in-flight gauges are 0 again. */
async function expectSettled(ctx: CheckContext, cluster: string, gauges: string[]): Promise<void> {
  const admin = ctx.topo.admin();
  const names = ["upstream_rq_active", "upstream_rq_pending_active", ...gauges];
  await waitUntil(
    `cluster.${cluster} ${names.join(", ")} back to 0`,
    async () => {
      const s = await stats(admin);
      return names.every((n) => (s.get(`cluster.${cluster}.${n}`) ?? 0) === 0);
    },
    { withinMs: WAITS.gaugesSettle },
  );
}

/** max_requests over an upstream speaking `protocol` (cluster `cluster`). */
function maxRequestsTest(cluster: "cbrq" | "cbrq2", protocol: "HTTP/1.1" | "HTTP/2"): ConformanceTest {
  return {
    id: `circuit-breaker-max-requests${protocol === "HTTP/2" ? "-h2" : ""}`,
    description: `max_requests ${BREAKER_LIMITS.maxRequests} (${protocol} upstream): that many requests pass, the others get 503 x-envoy-overloaded at once (upstream_rq_active_overflow)`,
    criterion: `with ${BREAKER_LIMITS.maxRequests} requests held by the echo (upstream_rq_active at the limit, circuit_breakers.default.rq_open 1), 4 more each get the proxy's own 503 with x-envoy-overloaded: true and the body "${OVERFLOW_BODY}" (no echo answered), the held ones get service1's 200, upstream_rq_active_overflow rises by exactly 4, and the in-flight gauges return to 0`,
    feature: "circuit-breaker",
    topology: "breaker",
    async check(ctx) {
      const { topo, measure } = ctx;
      const admin = topo.admin();
      const limit = BREAKER_LIMITS.maxRequests;
      const extra = 4;
      const before = await clusterStat(admin, cluster, "upstream_rq_active_overflow");
      const held = Array.from({ length: limit }, () => request(topo.listener(), `/${cluster}?${HOLD}`));
      await waitForStat(admin, cluster, "upstream_rq_active", limit);
      const open = await clusterStat(admin, cluster, "circuit_breakers.default.rq_open");
      const over = await Promise.all(
        Array.from({ length: extra }, () => request(topo.listener(), `/${cluster}?${HOLD}`)),
      );
      const passed = await Promise.all(held);
      const overflow = (await clusterStat(admin, cluster, "upstream_rq_active_overflow")) - before;
      measure("concurrent", limit + extra);
      measure("passed", passed.filter((r) => r.status === 200).length);
      measure("overloaded503", over.filter(isOverflow).length);
      measure("upstream_rq_active_overflow", overflow);
      measure("rq_open under load", open);
      expect(
        passed.every((r) => r.status === 200 && header(r, "x-echo-instance") === "service1"),
        `the ${limit} requests within max_requests answered ${passed.map(describe).join("; ")}`,
      );
      expect(
        over.every(isOverflow),
        `the ${extra} requests over max_requests answered ${over.map(describe).join("; ")}; expected 503 x-envoy-overloaded "${OVERFLOW_BODY}"`,
      );
      expect(overflow === extra, `upstream_rq_active_overflow grew by ${overflow}, expected ${extra}`);
      expect(open === 1, `circuit_breakers.default.rq_open was ${open} at the limit, expected 1`);
      await expectSettled(ctx, cluster, ["circuit_breakers.default.rq_open"]);
    },
  };
}

export const circuitBreakerTests: ConformanceTest[] = [
  maxRequestsTest("cbrq", "HTTP/1.1"),
  maxRequestsTest("cbrq2", "HTTP/2"),
  {
    id: "circuit-breaker-max-pending",
    description: `max_connections 1 and max_pending_requests ${BREAKER_LIMITS.maxPendingRequests}: one request on the connection, one waits, the others get 503 x-envoy-overloaded (upstream_rq_pending_overflow, upstream_cx_overflow)`,
    criterion: `with one request held on the single connection and ${BREAKER_LIMITS.maxPendingRequests} waiting (rq_pending_open and cx_open both 1), 2 more get the proxy's 503 x-envoy-overloaded overflow answer, the held and the waiting one get service1's 200, upstream_rq_pending_overflow rises by exactly 2, upstream_cx_overflow by at least 1, and the gauges return to 0`,
    feature: "circuit-breaker",
    topology: "breaker",
    async check(ctx) {
      const { topo, measure } = ctx;
      const admin = topo.admin();
      const extra = 2;
      const names = ["upstream_rq_pending_overflow", "upstream_cx_overflow", "upstream_rq_pending_total"];
      const before = await Promise.all(names.map((n) => clusterStat(admin, "cbpend", n)));
      const first = request(topo.listener(), `/cbpend?${HOLD}`);
      await waitForStat(admin, "cbpend", "upstream_rq_active", 1);
      const second = request(topo.listener(), `/cbpend?${HOLD}`);
      await waitForStat(admin, "cbpend", "upstream_rq_pending_active", BREAKER_LIMITS.maxPendingRequests);
      const s = await stats(admin);
      const pendingOpen = s.get("cluster.cbpend.circuit_breakers.default.rq_pending_open") ?? 0;
      const cxOpen = s.get("cluster.cbpend.circuit_breakers.default.cx_open") ?? 0;
      const over = await Promise.all(
        Array.from({ length: extra }, () => request(topo.listener(), `/cbpend?${HOLD}`)),
      );
      const passed = await Promise.all([first, second]);
      const after = await Promise.all(names.map((n) => clusterStat(admin, "cbpend", n)));
      const [pendingOverflow = 0, cxOverflow = 0, pendingTotal = 0] = after.map(
        (v, i) => v - (before[i] ?? 0),
      );
      measure("passed", passed.filter((r) => r.status === 200).length);
      measure("overloaded503", over.filter(isOverflow).length);
      measure("upstream_rq_pending_overflow", pendingOverflow);
      measure("upstream_cx_overflow", cxOverflow);
      measure("upstream_rq_pending_total", pendingTotal);
      measure("rq_pending_open under load", pendingOpen);
      measure("cx_open under load", cxOpen);
      expect(
        passed.every((r) => r.status === 200 && header(r, "x-echo-instance") === "service1"),
        `the request on the connection and the waiting one answered ${passed.map(describe).join("; ")}`,
      );
      expect(
        over.every(isOverflow),
        `the ${extra} requests over max_pending_requests answered ${over.map(describe).join("; ")}`,
      );
      expect(
        pendingOverflow === extra,
        `upstream_rq_pending_overflow grew by ${pendingOverflow}, expected ${extra}`,
      );
      expect(
        cxOverflow >= 1,
        "upstream_cx_overflow did not grow: the waiting request opened a second connection",
      );
      expect(
        pendingOpen === 1,
        `circuit_breakers.default.rq_pending_open was ${pendingOpen} with a request waiting`,
      );
      expect(cxOpen === 1, `circuit_breakers.default.cx_open was ${cxOpen} with max_connections open`);
      await expectSettled(ctx, "cbpend", ["circuit_breakers.default.rq_pending_open"]);
    },
  },
  {
    id: "circuit-breaker-max-retries",
    description: `max_retries ${BREAKER_LIMITS.maxRetries}: of 3 requests failing together, one retries (until num_retries: URX), the others' 503 passes through unretried (upstream_rq_retry_overflow)`,
    criterion: `3 concurrent requests the echo answers 503 (after 1 s) all get service1's 503; upstream_rq_retry_overflow rises by 2, upstream_rq_retry by 3 (one request's num_retries), upstream_rq_retry_limit_exceeded by 1, upstream_rq_retry_success by 0, and the gauges return to 0`,
    feature: "circuit-breaker",
    topology: "breaker",
    async check(ctx) {
      const { topo, measure } = ctx;
      const admin = topo.admin();
      const names = [
        "upstream_rq_retry",
        "upstream_rq_retry_overflow",
        "upstream_rq_retry_limit_exceeded",
        "upstream_rq_retry_success",
      ];
      const before = await Promise.all(names.map((n) => clusterStat(admin, "cbretry", n)));
      const replies = await Promise.all(
        Array.from({ length: 3 }, () => request(topo.listener(), "/cbretry?echo_status=503&echo_delay=1s")),
      );
      const after = await Promise.all(names.map((n) => clusterStat(admin, "cbretry", n)));
      const [retries = 0, overflow = 0, limit = 0, success = 0] = after.map((v, i) => v - (before[i] ?? 0));
      measure("statuses", replies.map(describe));
      measure("upstream_rq_retry", retries);
      measure("upstream_rq_retry_overflow", overflow);
      measure("upstream_rq_retry_limit_exceeded", limit);
      expect(
        replies.every((r) => r.status === 503 && header(r, "x-echo-instance") === "service1"),
        `expected the echo's 503 on every request, got ${replies.map(describe).join("; ")}`,
      );
      expect(overflow === 2, `upstream_rq_retry_overflow grew by ${overflow}, expected 2 (max_retries 1)`);
      expect(retries === 3, `upstream_rq_retry grew by ${retries}, expected 3 (one request's num_retries)`);
      expect(limit === 1, `upstream_rq_retry_limit_exceeded grew by ${limit}, expected 1`);
      expect(success === 0, `upstream_rq_retry_success grew by ${success}, expected 0`);
      await expectSettled(ctx, "cbretry", ["circuit_breakers.default.rq_retry_open"]);
    },
  },
];
