/**
 * The `outlier` feature group: outlier detection. A run of failures from one instance (the echo's
 * fail-next-N control) ejects it: it leaves the rotation at once, `/clusters` flags it
 * `/failed_outlier_check`, and it comes back after `base_ejection_time`; `max_ejection_percent` caps
 * how many hosts are out at once.
 */
import type http from "node:http";
import { sleep, waitUntil } from "../../lib/wait.js";
import { expect } from "../harness/assert.js";
import { instanceOf, pool, request } from "../harness/client.js";
import { healthFlags, hostsFlagged, stats } from "../harness/stats.js";
import { WAITS } from "../harness/timeouts.js";
import { OUTLIER } from "../harness/topologies.js";
import type { CheckContext, ConformanceTest, Endpoint, RunningTopology } from "../harness/types.js";

const CLUSTER = "myservice";
const STATS = `cluster.${CLUSTER}.outlier_detection.`;
/** Pause between the sequential requests that watch the rotation (ms). */
const PACE_MS = 20;

/** The next `count` answers of echo `name` to echo routes are `status` (count 0 clears the plan). */
async function failNext(topo: RunningTopology, name: string, count: number, status: number): Promise<void> {
  const r = await request(topo.echo(name), `/_echo/fail?count=${count}&status=${status}`, { method: "POST" });
  expect(r.status === 200, `POST /_echo/fail to ${name} answered ${r.status}`);
}

/** The hosts `/clusters` flags with `/failed_outlier_check`. */
function ejectedHosts(admin: Endpoint): Promise<string[]> {
  return hostsFlagged(admin, CLUSTER, "/failed_outlier_check");
}

/**
 * Every echo's fail plan cleared, no host ejected (what the previous test left has run out), then
 * Envoy's `update_merge_window` (`common_lb_config`, default 1 s) let pass: Envoy hands a health
 * change that comes within the window after the previous change of the cluster (its first
 * membership, an un-ejection) to its balancer only when the window ends, so an ejection right after
 * one would still see the host served for up to a second.
 */
async function allBack(topo: RunningTopology): Promise<void> {
  for (const name of topo.runningEchos()) await failNext(topo, name, 0, 503);
  await waitUntil("no host ejected", async () => (await ejectedHosts(topo.admin())).length === 0, {
    withinMs: WAITS.outlierReturn,
    intervalMs: 100,
  });
  await sleep(WAITS.updateMergeWindow);
}

async function counter(admin: Endpoint, name: string): Promise<number> {
  return (await stats(admin)).get(STATS + name) ?? 0;
}

interface Ejection {
  /** Failed answers of the host before it left the rotation. */
  failures: number;
  /** From its last failed answer to its first good one (ms). */
  ejectedForMs: number;
  /** Answers of the other hosts while it was out. */
  othersMeanwhile: number;
  /** `/clusters` flags read at the third answer of another host after its last failure. */
  flagsWhileOut: Record<string, string>;
}

/**
 * Sequential GETs on one keep-alive connection, PACE_MS apart, while `host` fails its next
 * `failures` answers: until it answers well again after them.
 */
async function watchEjection(topo: RunningTopology, host: string, failures: number): Promise<Ejection> {
  const agent: http.Agent = pool(1);
  try {
    const deadline = Date.now() + WAITS.outlierReturn;
    let failed = 0;
    let lastFailureAt = 0;
    let othersMeanwhile = 0;
    let flagsWhileOut: Record<string, string> = {};
    while (Date.now() < deadline) {
      const r = await request(topo.listener(), "/", { agent });
      const at = Date.now();
      const who = instanceOf(r);
      if (who === host && r.status >= 500) {
        failed++;
        lastFailureAt = at;
      } else if (who === host && failed > 0) {
        return { failures: failed, ejectedForMs: at - lastFailureAt, othersMeanwhile, flagsWhileOut };
      } else if (failed >= failures) {
        // Out of the rotation for a few answers now: what /clusters says of it.
        if (++othersMeanwhile === 3) flagsWhileOut = await healthFlags(topo.admin(), CLUSTER);
      }
      await sleep(PACE_MS);
    }
    throw new Error(`${host} did not come back within ${WAITS.outlierReturn} ms (${failed} failures seen)`);
  } finally {
    agent.destroy();
  }
}

/**
 * `host` fails `failures` times in a row with `status`: it leaves the rotation right after the last
 * of them (`/clusters` flags it), stays out for base_ejection_time and comes back;
 * `enforcedStat` counts the ejection.
 */
function ejectionCheck(host: string, failures: number, status: number, enforcedStat: string) {
  return async ({ topo, measure }: CheckContext): Promise<void> => {
    await allBack(topo);
    const admin = topo.admin();
    const before = await counter(admin, enforcedStat);
    await failNext(topo, host, failures, status);
    const e = await watchEjection(topo, host, failures);
    const after = await counter(admin, enforcedStat);
    measure("failuresBeforeLeaving", e.failures);
    measure("ejectedForMs", e.ejectedForMs);
    measure("othersMeanwhile", e.othersMeanwhile);
    measure("flagsWhileOut", e.flagsWhileOut);
    measure(enforcedStat, after - before);
    expect(e.failures === failures, `${host} failed ${e.failures} times, expected ${failures}`);
    expect(
      e.flagsWhileOut[host]?.includes("/failed_outlier_check") === true,
      `/clusters did not flag ${host} /failed_outlier_check while out: ${JSON.stringify(e.flagsWhileOut)}`,
    );
    const base = OUTLIER.baseEjectionTimeMs;
    expect(
      e.ejectedForMs >= base - 250,
      `${host} came back ${e.ejectedForMs} ms after its last failure, before base_ejection_time ${base} ms`,
    );
    // One ejection in a row: base_ejection_time, plus up to one sweep interval, plus load.
    expect(
      e.ejectedForMs <= base + OUTLIER.intervalMs + 1_500,
      `${host} came back only ${e.ejectedForMs} ms after its last failure (base_ejection_time ${base} ms)`,
    );
    expect(e.othersMeanwhile > 0, "no other host answered while the ejected one was out");
    expect(after - before === 1, `${STATS}${enforcedStat} rose by ${after - before}, expected 1`);
  };
}

/** What passing means for `ejectionCheck(host, failures, status, enforcedStat)`. */
function ejectionCriterion(host: string, failures: number, status: number, enforcedStat: string): string {
  const base = OUTLIER.baseEjectionTimeMs;
  return (
    `${host} armed to answer its next ${failures} requests ${status}, sequential requests on one connection: exactly ${failures} ${status}s come from ${host}, ` +
    `then other hosts answer and ${host} none until ${base - 250}..${base + OUTLIER.intervalMs + 1_500} ms after its last failure (base_ejection_time ${base} ms), ` +
    `/clusters flags it /failed_outlier_check meanwhile, and ${STATS}${enforcedStat} rises by exactly 1`
  );
}

export const outlierTests: ConformanceTest[] = [
  {
    id: "outlier-consecutive-5xx",
    description: `5 consecutive 500s from service1 eject it at once (/clusters: /failed_outlier_check) for base_ejection_time (${OUTLIER.baseEjectionTimeMs} ms); then it serves again`,
    criterion: ejectionCriterion(
      "service1",
      OUTLIER.consecutive5xx,
      500,
      "ejections_enforced_consecutive_5xx",
    ),
    feature: "outlier",
    topology: "outlier",
    check: ejectionCheck("service1", OUTLIER.consecutive5xx, 500, "ejections_enforced_consecutive_5xx"),
  },
  {
    id: "outlier-gateway-failure",
    description: `${OUTLIER.consecutiveGatewayFailure} consecutive 502s from service2 eject it (consecutive_gateway_failure, enforced) before consecutive_5xx would; it returns after base_ejection_time`,
    criterion: ejectionCriterion(
      "service2",
      OUTLIER.consecutiveGatewayFailure,
      502,
      "ejections_enforced_consecutive_gateway_failure",
    ),
    feature: "outlier",
    topology: "outlier",
    check: ejectionCheck(
      "service2",
      OUTLIER.consecutiveGatewayFailure,
      502,
      "ejections_enforced_consecutive_gateway_failure",
    ),
  },
  {
    id: "outlier-max-ejection-percent",
    description: `both instances fail every request: max_ejection_percent ${OUTLIER.maxEjectionPercent} lets exactly one of the two be ejected; the other's detections count as ejections_overflow`,
    criterion: `with both echos answering 503 to every request, after 30 sequential requests /clusters flags exactly one of them /failed_outlier_check, ${STATS}ejections_active is 1, ${STATS}ejections_overflow rose, and the last 5 answers all came from the host left in`,
    feature: "outlier",
    topology: "outlier",
    async check({ topo, measure }) {
      await allBack(topo);
      const admin = topo.admin();
      const overflowBefore = await counter(admin, "ejections_overflow");
      const echos = topo.runningEchos();
      for (const name of echos) await failNext(topo, name, 1_000, 503);
      const agent = pool(1);
      const answers: string[] = [];
      try {
        for (let i = 0; i < 30; i++) {
          answers.push(instanceOf(await request(topo.listener(), "/", { agent })));
          await sleep(PACE_MS);
        }
      } finally {
        agent.destroy();
      }
      const ejected = await ejectedHosts(admin);
      const s = await stats(admin);
      const overflow = (s.get(`${STATS}ejections_overflow`) ?? 0) - overflowBefore;
      const active = s.get(`${STATS}ejections_active`) ?? 0;
      measure("ejected", ejected);
      measure("ejections_overflow", overflow);
      measure("ejections_active", active);
      measure("lastAnswers", answers.slice(-6).join(" "));
      await allBack(topo);
      expect(
        ejected.length === 1,
        `ejected ${JSON.stringify(ejected)}; expected exactly one of ${echos.join(", ")}`,
      );
      expect(active === 1, `${STATS}ejections_active is ${active}, expected 1`);
      expect(overflow > 0, `${STATS}ejections_overflow did not rise`);
      const kept = echos.find((e) => !ejected.includes(e));
      expect(
        answers.slice(-5).every((a) => a === kept),
        `the last answers came from ${answers.slice(-5).join(", ")}, not only from ${kept} (the host left in)`,
      );
    },
  },
];
