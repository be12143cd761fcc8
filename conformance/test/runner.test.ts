/**
 * The runner's judgement of a target: a test of a feature the target does not claim is skipped with
 * "not supported by <target>" before anything starts (a group where nothing is claimed never starts
 * its topology); a failure the target declares as a known peer defect is reported with its evidence
 * and counted apart from the suite's failures.
 */
import { existsSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildReport } from "../harness/report.js";
import { byTopology, runAll } from "../harness/runner.js";
import { selectTarget } from "../harness/targets.js";
import { TLS_DIR, TLS_FILES } from "../harness/topologies.js";
import type { ConformanceTest, Driver, RunningTopology, Target, TestResult } from "../harness/types.js";
import { allTests } from "../tests/index.js";

/** A driver that records each start and hands back a topology doing nothing (no process, no socket). */
function fakeDriver(): Driver & { starts: string[]; stops: string[] } {
  const starts: string[] = [];
  const stops: string[] = [];
  return {
    name: "processes",
    reason: "unit test",
    capabilities: { dynamicDns: true },
    starts,
    stops,
    async start(topology, target): Promise<RunningTopology> {
      starts.push(topology.id);
      const ep = { host: "127.0.0.1", port: 1 };
      return {
        topology,
        target,
        listener: () => ep,
        admin: () => ep,
        echo: () => ep,
        startEcho: async () => {},
        stopEcho: async () => {},
        // Nothing running: stopStage reads no echo's counters.
        runningEchos: () => [],
        writeProxyFile: async () => {},
        stop: async () => {
          stops.push(topology.id);
        },
      };
    },
    close: async () => {},
  };
}

/** A peer-like target (HAProxy's dialect: no Envoy admin to read at teardown) claiming `features`. */
function fakeTarget(features: Target["features"], knownDefects?: Record<string, string>): Target {
  return {
    ...selectTarget("echomesh"),
    name: "fake",
    description: "a fake proxy",
    dialect: "haproxy",
    features,
    ...(knownDefects === undefined ? {} : { knownDefects }),
    unavailable: async () => null,
    versions: () => ({ fake: "0.1" }),
  };
}

const check =
  (fails: boolean, ran: string[], id: string): ConformanceTest["check"] =>
  async ({ measure }) => {
    ran.push(id);
    measure("answers", { service1: 3, service2: fails ? 0 : 3 });
    if (fails) throw new Error(`${id}: service2 answered 0 of 6`);
  };

function fakeTests(ran: string[]): ConformanceTest[] {
  const t = (
    id: string,
    feature: ConformanceTest["feature"],
    fails: boolean,
    topology = "front",
  ): ConformanceTest => ({
    id,
    description: `${id} description`,
    criterion: `${id} criterion`,
    feature,
    topology,
    check: check(fails, ran, id),
  });
  return [
    t("ok", "round-robin", false),
    t("known-bad", "round-robin", true),
    t("known-but-passes", "round-robin", false),
    t("bad", "round-robin", true),
    // Alone in its group: a target that does not claim websocket never starts the mesh.
    t("unclaimed", "websocket", false, "mesh"),
  ];
}

const byId = (results: TestResult[]) => new Map(results.map((r) => [r.id, r]));

describe("the runner and what a target claims", () => {
  it("skips every test of a target claiming nothing, without starting any topology", async () => {
    const driver = fakeDriver();
    const target = fakeTarget([]);
    const seen: string[] = [];
    const results = await runAll(driver, target, allTests, (r) => seen.push(r.id));
    expect(results).toHaveLength(allTests.length);
    expect(results.filter((r) => r.outcome !== "skipped")).toEqual([]);
    expect(new Set(results.map((r) => r.reason))).toEqual(new Set(["not supported by fake"]));
    expect(driver.starts).toEqual([]);
    // onResult (the CLI's progress) hears of each test as it finishes, topology by topology.
    expect(seen).toEqual([...byTopology(allTests).values()].flat().map((t) => t.id));
  });

  it("runs what is claimed, skips the rest, and keeps each test's words in its result", async () => {
    const driver = fakeDriver();
    const ran: string[] = [];
    const results = byId(await runAll(driver, fakeTarget(["round-robin"]), fakeTests(ran)));
    expect(driver.starts).toEqual(["front"]);
    expect(driver.stops).toEqual(["front"]);
    expect(ran).toEqual(["ok", "known-bad", "known-but-passes", "bad"]);
    expect(results.get("unclaimed")).toMatchObject({ outcome: "skipped", reason: "not supported by fake" });
    expect(results.get("ok")).toMatchObject({
      outcome: "passed",
      feature: "round-robin",
      topology: "front",
      description: "ok description",
      criterion: "ok criterion",
      measurements: { answers: { service1: 3, service2: 3 } },
    });
    expect(results.get("bad")).toMatchObject({ outcome: "failed", reason: "bad: service2 answered 0 of 6" });
  });

  it("reports a declared peer defect that fails as a finding, counted apart; one that passes is not a failure", async () => {
    const driver = fakeDriver();
    const evidence = "fake 0.1 sends every request to service1 (measured 2026-12-01)";
    const target = fakeTarget(["round-robin"], { "known-bad": evidence, "known-but-passes": evidence });
    const tests = fakeTests([]);
    const results = await runAll(driver, target, tests);
    const r = byId(results);
    expect(r.get("known-bad")).toMatchObject({ outcome: "failed", knownDefect: evidence });
    expect(r.get("known-but-passes")).toMatchObject({ outcome: "passed", knownDefect: evidence });
    expect(r.get("bad")?.knownDefect).toBeUndefined();
    expect(r.get("unclaimed")?.knownDefect).toBeUndefined();

    const withUnknown = buildReport(target, driver, results, Date.now(), null);
    expect(withUnknown.summary).toMatchObject({ passed: 2, failed: 2, knownDefects: 1, skipped: 1 });
    expect(withUnknown.summary.result).toBe("failure");

    // Only the known defect fails: a partial result, not a suite failure.
    const onlyKnown = results.filter((x) => x.id !== "bad");
    const report = buildReport(target, driver, onlyKnown, Date.now(), null);
    expect(report.summary).toMatchObject({ passed: 2, failed: 1, knownDefects: 1, skipped: 1 });
    expect(report.summary.result).toBe("partial");
  });

  it("skips a whole group with the reason when the target is unavailable, starting nothing", async () => {
    const driver = fakeDriver();
    const target = { ...fakeTarget(["round-robin"]), unavailable: async () => "fake is not installed" };
    const results = await runAll(driver, target, fakeTests([]));
    expect(driver.starts).toEqual([]);
    expect(results.find((x) => x.id === "ok")?.reason).toBe("target fake unavailable: fake is not installed");
  });

  it("starts the TLS topologies on the container driver once their certificates exist, keys readable by the image's user", async () => {
    const base = fakeDriver();
    const ready: string[] = [];
    const driver: Driver = {
      ...base,
      name: "containers",
      async start(topology, target) {
        // What the container driver mounts (hostFiles) holds the certificates, readable by all.
        const key = statSync(TLS_FILES.sidecar.key);
        if (topology.hostFiles === TLS_DIR && existsSync(TLS_FILES.ca) && (key.mode & 0o777) === 0o644)
          ready.push(topology.id);
        return base.start(topology, target);
      },
    };
    const tls = allTests.filter((t) => t.feature === "tls");
    const results = await runAll(driver, fakeTarget(["tls"]), tls);
    expect(base.starts).toEqual(["tls-front", "tls-mesh"]);
    expect(ready).toEqual(["tls-front", "tls-mesh"]);
    expect(results.every((r) => r.outcome !== "skipped")).toBe(true);
  });
});
