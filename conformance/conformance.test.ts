/**
 * The conformance suite's vitest entry. Picks the driver once (containers when Docker answers and the
 * local image builds, else loopback processes; the reason is printed), then runs every test against
 * each target in turn: by default our proxy with the seed's v2 configs (`echomesh`), our proxy with
 * the same configs in v3 (`echomesh-v3`) and Envoy itself (`envoy`, the reference);
 * ECHOMESH_TARGETS=a,b or ECHOMESH_TARGET=a narrows that. One topology start per group of tests;
 * one report per target, conformance/report/latest-<target>.{json,md}, and a summary table per
 * target plus one line per target at the end. ECHOMESH_TESTS=id-or-feature,... narrows the tests;
 * ECHOMESH_REPEAT=N runs each selected group N times, a topology start per round (flakiness). Each run
 * also keeps its reports under conformance/report/runs/<timestamp>/ (`latest` points there), with the
 * matrix of its targets when there are several; one progress line per test as it finishes.
 */
import { afterAll, beforeAll, describe, test } from "vitest";
import { writeMatrix } from "./harness/matrix.js";
import {
  buildReport,
  newRunDir,
  progressLine,
  type Report,
  summaryLine,
  summaryTable,
  writeReport,
} from "./harness/report.js";
import {
  byTopology,
  matching,
  repeated,
  runTest,
  type Stage,
  startStage,
  stopStage,
} from "./harness/runner.js";
import { driverFor, selectDriver } from "./harness/select.js";
import { selectTargets } from "./harness/targets.js";
import type { Driver, Target, TestResult } from "./harness/types.js";
import { allTests } from "./tests/index.js";

process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";

const tests = repeated(
  matching(allTests, (process.env.ECHOMESH_TESTS ?? "").split(",")),
  Number(process.env.ECHOMESH_REPEAT ?? "1"),
);
const order = new Map(tests.map((t, i) => [t.id, i]));
const targets = selectTargets();
const reports: Report[] = [];
let driver: Driver | undefined;
/** The process driver of process-only targets (HAProxy, nginx, Caddy) when the run's driver is containers. */
let processes: Promise<Driver> | undefined;
const processDriverOnce = (): Promise<Driver> => {
  processes ??= import("./harness/driver-processes.js").then((m) =>
    m.processDriver("the target runs with the process driver only"),
  );
  return processes;
};
/** This run's own report folder (runs/<timestamp>/; `latest` points at it). */
let runDir: string | undefined;

beforeAll(async () => {
  driver = await selectDriver();
  runDir = newRunDir();
  process.stdout.write(
    `\n[conformance] driver: ${driver.name} (${driver.reason})\n` +
      `[conformance] targets: ${targets.map((t) => t.name).join(", ")}\n`,
  );
}, 900_000);

afterAll(async () => {
  try {
    if (reports.length > 0) process.stdout.write(`\n${reports.map(summaryLine).join("\n")}\n`);
    if (reports.length > 1 && runDir !== undefined)
      process.stdout.write(`matrix: ${writeMatrix(reports, runDir).join(", ")}\n`);
  } finally {
    await driver?.close();
    if (processes !== undefined) await (await processes).close();
  }
}, 120_000);

/** One target: its availability, its topologies one after the other, its report. */
function targetSuite(target: Target): void {
  const results: TestResult[] = [];
  let unavailable: string | null = null;
  let startedAt = 0;
  /** The driver this target runs with (the run's, or the process driver for a process-only target). */
  let own: Driver | undefined;

  beforeAll(async () => {
    if (!driver) throw new Error("driver not selected");
    own = await driverFor(target, driver, processDriverOnce);
    startedAt = Date.now();
    unavailable = await target.unavailable(own.name);
    process.stdout.write(
      `\n[conformance] target: ${target.name} (${target.description})` +
        `${unavailable ? ` UNAVAILABLE: ${unavailable}` : ""}\n`,
    );
  }, 900_000);

  afterAll(() => {
    if (!own) return;
    results.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
    const report = buildReport(target, own, results, startedAt, unavailable);
    const file = writeReport(report, `latest-${target.name}`);
    if (runDir !== undefined) writeReport(report, target.name, runDir);
    reports.push(report);
    process.stdout.write(`\n${summaryTable(report)}\nreport: ${file}\n`);
  });

  for (const [topologyId, group] of byTopology(tests)) {
    describe(topologyId, () => {
      let stage: Stage | undefined;
      beforeAll(async () => {
        if (!own) throw new Error("driver not selected");
        stage = unavailable
          ? { skip: `target ${target.name} unavailable: ${unavailable}` }
          : await startStage(own, target, topologyId, group);
      }, 300_000);
      afterAll(async () => {
        await stopStage(stage);
      }, 60_000);

      for (const t of group) {
        test(t.id, { timeout: (t.timeoutMs ?? 60_000) + 10_000 }, async (ctx) => {
          if (!own || !stage) throw new Error("topology not set up");
          const r = await runTest(t, own, stage, target);
          results.push(r);
          process.stdout.write(`${progressLine(target.name, r)}\n`);
          if (r.outcome === "skipped") ctx.skip(r.reason);
          // A known peer defect is a finding in the report and the matrix, not a suite failure.
          if (r.outcome === "failed" && r.knownDefect === undefined) {
            throw new Error(`${t.id}: ${r.reason}\n  measured: ${JSON.stringify(r.measurements)}`);
          }
        });
      }
    });
  }
}

describe("conformance", () => {
  for (const target of targets) describe(target.name, () => targetSuite(target));
});
