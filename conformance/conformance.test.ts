/**
 * The conformance suite's vitest entry. Picks the driver (containers when Docker answers and the local
 * image builds, else loopback processes; the reason is printed), runs every test against the target
 * named by ECHOMESH_TARGET (default `echomesh`), one topology start per group of tests, and writes
 * conformance/report/latest.{json,md}. ECHOMESH_TESTS=id-or-feature,... narrows the run.
 */
import { afterAll, beforeAll, describe, test } from "vitest";
import { buildReport, summaryTable, writeReport } from "./harness/report.js";
import { byTopology, runTest, type Stage, startStage, stopStage } from "./harness/runner.js";
import { selectDriver } from "./harness/select.js";
import { selectTarget } from "./harness/targets.js";
import type { ConformanceTest, Driver, Target, TestResult } from "./harness/types.js";
import { allTests } from "./tests/index.js";

process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";

function selected(tests: ConformanceTest[]): ConformanceTest[] {
  const filter = process.env.ECHOMESH_TESTS?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (!filter || filter.length === 0) return tests;
  return tests.filter((t) => filter.some((f) => t.id.startsWith(f) || t.feature === f || t.topology === f));
}

const tests = selected(allTests);
const results: TestResult[] = [];
let driver: Driver | undefined;
let target: Target | undefined;
let unavailable: string | null = null;
const startedAt = Date.now();

beforeAll(async () => {
  driver = await selectDriver();
  target = selectTarget();
  unavailable = await target.unavailable(driver.name);
  process.stdout.write(
    `\n[conformance] driver: ${driver.name} (${driver.reason})\n[conformance] target: ${target.name}` +
      ` (${target.description})${unavailable ? ` UNAVAILABLE: ${unavailable}` : ""}\n`,
  );
}, 900_000);

afterAll(async () => {
  try {
    if (driver && target) {
      const order = new Map(tests.map((t, i) => [t.id, i]));
      results.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
      const report = buildReport(target, driver, results, startedAt, unavailable);
      const file = writeReport(report);
      process.stdout.write(`\n${summaryTable(report)}\nreport: ${file}\n`);
    }
  } finally {
    await driver?.close();
  }
}, 120_000);

describe("conformance", () => {
  for (const [topologyId, group] of byTopology(tests)) {
    describe(topologyId, () => {
      let stage: Stage | undefined;
      beforeAll(async () => {
        if (!driver || !target) throw new Error("driver not selected");
        stage = unavailable
          ? { skip: `target ${target.name} unavailable: ${unavailable}` }
          : await startStage(driver, target, topologyId, group);
      }, 300_000);
      afterAll(async () => {
        await stopStage(stage);
      }, 60_000);

      for (const t of group) {
        test(t.id, { timeout: (t.timeoutMs ?? 60_000) + 10_000 }, async (ctx) => {
          if (!driver || !stage) throw new Error("topology not set up");
          const r = await runTest(t, driver, stage);
          results.push(r);
          if (r.outcome === "skipped") ctx.skip(r.reason);
          if (r.outcome === "failed") {
            throw new Error(`${t.id}: ${r.reason}\n  measured: ${JSON.stringify(r.measurements)}`);
          }
        });
      }
    });
  }
});
