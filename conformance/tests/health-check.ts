/**
 * The `health-check` feature group: active health checking. An echo whose health endpoint fails
 * (`POST /_echo/health?status=fail`) leaves the rotation within interval x unhealthy_threshold, with
 * `/failed_active_hc` in `/clusters`; switched back it returns within interval x healthy_threshold;
 * with 2 of 3 failing (below the 50% panic threshold) the load spreads over all three again.
 */
import type http from "node:http";
import { waitUntil } from "../../lib/wait.js";
import { expect, expectShares } from "../harness/assert.js";
import { counts, instanceOf, pool, request, spread } from "../harness/client.js";
import { hostsFlagged, stats } from "../harness/stats.js";
import { WAITS } from "../harness/timeouts.js";
import { HEALTH_CHECK } from "../harness/topologies.js";
import type { CheckContext, ConformanceTest, Endpoint, RunningTopology } from "../harness/types.js";

const CLUSTER = "myservice";
const BACKENDS = ["service1", "service2", "service3"];
const FAILED = "/failed_active_hc";
/** How often `/clusters` is read while a transition is timed (ms). */
const POLL_MS = 25;

/** Switch echo `name`'s health endpoint to `status`. */
async function setHealth(topo: RunningTopology, name: string, status: "ok" | "fail"): Promise<void> {
  const r = await request(topo.echo(name), `/_echo/health?status=${status}`, { method: "POST" });
  // The echo answers with the new state: 200 ok, or 503 fail.
  const want = status === "ok" ? 200 : 503;
  expect(
    r.status === want,
    `POST /_echo/health?status=${status} to ${name} answered ${r.status}, not ${want}`,
  );
}

/** The hosts `/clusters` flags with `FAILED`. */
function failingHosts(admin: Endpoint): Promise<string[]> {
  return hostsFlagged(admin, CLUSTER, FAILED);
}

/** Polls `/clusters` until exactly `hosts` fail their check; returns the ms it took. */
async function timeUntilFailing(admin: Endpoint, hosts: string[], what: string): Promise<number> {
  const start = Date.now();
  const want = [...hosts].sort().join();
  await waitUntil(what, async () => (await failingHosts(admin)).join() === want, {
    withinMs: WAITS.healthFlip,
    intervalMs: POLL_MS,
  });
  return Date.now() - start;
}

/**
 * Every echo healthy, no host flagged, and sequential requests rotating over all three (whatever a
 * previous test left; Envoy may need a DNS refresh after start-up to balance over every healthy host).
 */
async function allHealthy(topo: RunningTopology): Promise<void> {
  for (const name of topo.runningEchos()) await setHealth(topo, name, "ok");
  await timeUntilFailing(topo.admin(), [], "every host healthy");
  await waitUntil(
    "sequential requests rotate over service1..3",
    async () => {
      const seen = counts(await sequential(topo.listener(), 6));
      return BACKENDS.every((b) => seen[b] === 2);
    },
    { withinMs: WAITS.converge, intervalMs: 100 },
  );
}

/** `n` sequential GETs on one keep-alive connection: who answered each. */
async function sequential(ep: Endpoint, n: number): Promise<string[]> {
  const agent: http.Agent = pool(1);
  try {
    const seen: string[] = [];
    for (let i = 0; i < n; i++) seen.push(instanceOf(await request(ep, `/?i=${i}`, { agent })));
    return seen;
  } finally {
    agent.destroy();
  }
}

/** Runs `check` on a topology with every echo healthy, and leaves every echo healthy after it. */
function healthy(check: (ctx: CheckContext) => Promise<void>): ConformanceTest["check"] {
  return async (ctx) => {
    await allHealthy(ctx.topo);
    try {
      await check(ctx);
    } finally {
      for (const name of ctx.topo.runningEchos()) await setHealth(ctx.topo, name, "ok");
    }
  };
}

const leaveBoundMs = HEALTH_CHECK.intervalMs * HEALTH_CHECK.unhealthyThreshold + WAITS.healthCheckSlack;
const returnBoundMs = HEALTH_CHECK.intervalMs * HEALTH_CHECK.healthyThreshold + WAITS.healthCheckSlack;

/** service2's health fails: it is flagged within interval x unhealthy_threshold and gets no request. */
async function leaves(ctx: CheckContext): Promise<void> {
  const { topo, measure } = ctx;
  await setHealth(topo, "service2", "fail");
  const leftMs = await timeUntilFailing(topo.admin(), ["service2"], "service2 flagged /failed_active_hc");
  measure("leftAfterMs", leftMs);
  measure("boundMs", leaveBoundMs);
  expect(leftMs <= leaveBoundMs, `service2 left after ${leftMs} ms, more than ${leaveBoundMs} ms`);
  const seen = counts(await sequential(topo.listener(), 30));
  measure("countsWhileOut", seen);
  expect(seen.service2 === undefined, `service2 still answered ${seen.service2} of 30 requests`);
  expect(
    (seen.service1 ?? 0) === 15 && (seen.service3 ?? 0) === 15,
    `the 30 requests did not alternate between service1 and service3: ${JSON.stringify(seen)}`,
  );
}

/** service2 fails, then recovers: flagged until healthy_threshold passes, then back in the rotation. */
async function returns(ctx: CheckContext): Promise<void> {
  const { topo, measure } = ctx;
  await setHealth(topo, "service2", "fail");
  await timeUntilFailing(topo.admin(), ["service2"], "service2 flagged /failed_active_hc");
  await setHealth(topo, "service2", "ok");
  const backMs = await timeUntilFailing(topo.admin(), [], "service2 healthy again");
  measure("backAfterMs", backMs);
  measure("boundMs", returnBoundMs);
  expect(backMs <= returnBoundMs, `service2 came back after ${backMs} ms, more than ${returnBoundMs} ms`);
  const seen = counts(await sequential(topo.listener(), 30));
  measure("countsAfter", seen);
  for (const b of BACKENDS) {
    expect(seen[b] === 10, `${b} answered ${seen[b] ?? 0} of 30 sequential requests, not 10`);
  }
}

/**
 * service2 and service3 fail: 1 of 3 healthy is below the 50% panic threshold, so the load spreads
 * over all three (the failing ones still answer the echo routes), counted in lb_healthy_panic.
 */
async function panic(ctx: CheckContext): Promise<void> {
  const { topo, measure } = ctx;
  const before = (await stats(topo.admin())).get(`cluster.${CLUSTER}.lb_healthy_panic`) ?? 0;
  await setHealth(topo, "service2", "fail");
  await setHealth(topo, "service3", "fail");
  const ms = await timeUntilFailing(topo.admin(), ["service2", "service3"], "service2 and service3 flagged");
  measure("bothFailedAfterMs", ms);
  const total = 300;
  const seen = counts(await spread(topo.listener(), "/", total, 3));
  measure("panicCounts", seen);
  expectShares(seen, { service1: 1, service2: 1, service3: 1 }, 10);
  const after = (await stats(topo.admin())).get(`cluster.${CLUSTER}.lb_healthy_panic`) ?? 0;
  measure("lbHealthyPanic", after - before);
  expect(after - before >= total, `lb_healthy_panic rose by ${after - before}, not at least ${total}`);
  // With service3 back, 2 of 3 healthy (67%) is above the threshold: no panic, service2 gets nothing.
  await setHealth(topo, "service3", "ok");
  await timeUntilFailing(topo.admin(), ["service2"], "service3 healthy again");
  const calm = counts(await sequential(topo.listener(), 30));
  measure("countsOutOfPanic", calm);
  expect(calm.service2 === undefined, `out of panic, service2 still answered ${calm.service2} of 30`);
}

/** The health_check.* stats under Envoy's names: attempts add up, healthy is the healthy host count. */
async function healthStats(ctx: CheckContext): Promise<void> {
  const { topo, measure } = ctx;
  await setHealth(topo, "service1", "fail");
  await timeUntilFailing(topo.admin(), ["service1"], "service1 flagged");
  const s = await stats(topo.admin());
  const get = (name: string) => s.get(`cluster.${CLUSTER}.health_check.${name}`);
  const names = ["attempt", "success", "failure", "network_failure", "passive_failure", "verify_cluster"];
  const values = Object.fromEntries([...names, "healthy", "degraded"].map((n) => [n, get(n)]));
  measure("stats", values);
  for (const [name, value] of Object.entries(values)) {
    expect(value !== undefined, `admin /stats has no cluster.${CLUSTER}.health_check.${name}`);
  }
  expect(get("healthy") === 2, `health_check.healthy is ${get("healthy")}, not 2`);
  expect((get("failure") ?? 0) >= 1, "health_check.failure did not count service1's failed check");
  expect((get("success") ?? 0) >= 3, "health_check.success did not count the first checks");
  // A check in flight at the read is counted in attempt only.
  const settled = (get("success") ?? 0) + (get("failure") ?? 0);
  const attempts = get("attempt") ?? 0;
  expect(
    attempts >= settled && attempts <= settled + BACKENDS.length,
    `health_check.attempt ${attempts} is not success + failure (${settled}) plus the checks in flight`,
  );
  expect(
    (s.get(`cluster.${CLUSTER}.membership_healthy`) ?? -1) === 2,
    `membership_healthy is ${s.get(`cluster.${CLUSTER}.membership_healthy`)}, not 2`,
  );
}

export const healthCheckTests: ConformanceTest[] = [
  {
    id: "hc-leave",
    description: `an echo failing its health check leaves the rotation within interval x unhealthy_threshold (${HEALTH_CHECK.intervalMs} ms x ${HEALTH_CHECK.unhealthyThreshold}), flagged ${FAILED}`,
    criterion: `after service2's health endpoint is switched to fail, /clusters flags it ${FAILED} within ${leaveBoundMs} ms, and 30 sequential requests on one connection alternate between service1 and service3 (15 each, none to service2)`,
    feature: "health-check",
    topology: "health-check",
    check: healthy(leaves),
  },
  {
    id: "hc-return",
    description: `a recovered echo is back in the rotation within interval x healthy_threshold (${HEALTH_CHECK.intervalMs} ms x ${HEALTH_CHECK.healthyThreshold}) and gets its third`,
    criterion: `after service2 failed and recovered, /clusters clears its flag within ${returnBoundMs} ms, and 30 sequential requests give each of service1..3 exactly 10`,
    feature: "health-check",
    topology: "health-check",
    check: healthy(returns),
  },
  {
    id: "hc-panic",
    description:
      "2 of 3 echos failing (below the 50% healthy_panic_threshold): the load spreads over all 3, counted in lb_healthy_panic",
    criterion:
      "with service2 and service3 flagged, 300 requests on 3 connections give each of the three a third within 10 percentage points, lb_healthy_panic rises by at least 300; once service3 recovers, 30 sequential requests send none to service2",
    feature: "health-check",
    topology: "health-check",
    check: healthy(panic),
  },
  {
    id: "hc-stats",
    description:
      "health_check.* stats under Envoy's names; health_check.healthy and membership_healthy follow",
    criterion:
      "with service1 flagged, admin /stats has every cluster.myservice.health_check.* counter (attempt, success, failure, network_failure, passive_failure, verify_cluster, healthy, degraded); healthy and membership_healthy are 2, failure >= 1, success >= 3, attempt is success + failure plus at most 3 checks in flight",
    feature: "health-check",
    topology: "health-check",
    check: healthy(healthStats),
  },
];
