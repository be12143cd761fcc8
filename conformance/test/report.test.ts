/**
 * The report a person reads: per test its feature, words, criterion, outcome, reason, duration and
 * measured detail (untruncated in the JSON; the Markdown shortens and says where the rest is); a
 * schema version; each run kept in a folder of its own with `latest` pointing at it; one progress
 * line per finished test.
 */
import { existsSync, mkdtempSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  buildReport,
  newRunDir,
  progressLine,
  REPORT_SCHEMA_VERSION,
  writeReport,
} from "../harness/report.js";
import { selectTarget } from "../harness/targets.js";
import type { Driver, Target, TestResult } from "../harness/types.js";

const driver: Driver = {
  name: "processes",
  reason: "unit test",
  capabilities: { dynamicDns: true },
  start: async () => {
    throw new Error("not started in a report test");
  },
  close: async () => {},
};

const target: Target = {
  ...selectTarget("echomesh"),
  name: "fake",
  description: "a fake proxy",
  dialect: "nginx",
  image: null,
  versions: () => ({ fake: "0.1" }),
};

/** A measurement far longer than any table cell. */
const long = Array.from({ length: 400 }, (_, i) => `service${i % 3}`).join(",");

const results: TestResult[] = [
  {
    id: "rr-rotation-2",
    feature: "round-robin",
    topology: "front",
    description: "sequential requests alternate",
    criterion: "12 sequential requests give each of 2 echos 6",
    outcome: "passed",
    durationMs: 1_234,
    measurements: { order: long },
  },
  {
    id: "ws-mesh",
    feature: "websocket-over-h2",
    topology: "mesh",
    description: "a WebSocket across the h2c hop",
    criterion: "the upgrade answers 101 and messages come back",
    outcome: "failed",
    reason: "the upgrade answered 502",
    knownDefect: "fake 0.1 answers 502 to a WebSocket over h2c",
    durationMs: 80,
    measurements: { status: 502 },
  },
  {
    id: "h2-up",
    feature: "h2-upstream",
    topology: "h2-upstream",
    description: "HTTP/2 to the upstream",
    outcome: "skipped",
    reason: "not supported by fake",
    durationMs: 0,
    measurements: {},
  },
];

describe("the conformance report", () => {
  it("has a schema version, the target's words and versions, and counts known defects apart", () => {
    const report = buildReport(target, driver, results, Date.parse("2026-12-01T10:00:00Z"), null);
    expect(report.schemaVersion).toBe(REPORT_SCHEMA_VERSION);
    expect(REPORT_SCHEMA_VERSION).toBe(2);
    expect(report.kind).toBe("echomesh-conformance-report");
    expect(report.date).toBe("2026-12-01T10:00:00.000Z");
    expect(report.target).toEqual({
      name: "fake",
      description: "a fake proxy",
      dialect: "nginx",
      image: null,
    });
    expect(report.versions).toMatchObject({ fake: "0.1", node: process.version });
    expect(report.summary).toEqual({ passed: 1, failed: 1, knownDefects: 1, skipped: 1, result: "partial" });
    const unknown = results.map((r) => (r.id === "ws-mesh" ? { ...r, knownDefect: undefined } : r));
    expect(buildReport(target, driver, unknown, 0, null).summary.result).toBe("failure");
    const clean = results.filter((r) => r.outcome === "passed");
    expect(buildReport(target, driver, clean, 0, null).summary.result).toBe("success");
  });

  it("keeps every measurement whole in the JSON; the Markdown shortens and says where the whole is", () => {
    const dir = mkdtempSync(join(tmpdir(), "report-"));
    const report = buildReport(target, driver, results, Date.now(), null);
    const file = writeReport(report, "latest-fake", dir);
    expect(file).toBe(join(dir, "latest-fake.json"));
    const json = JSON.parse(readFileSync(file, "utf8"));
    const rr = json.results.find((r: TestResult) => r.id === "rr-rotation-2");
    expect(rr.measurements.order).toBe(long);
    expect(rr).toMatchObject({
      feature: "round-robin",
      description: "sequential requests alternate",
      criterion: "12 sequential requests give each of 2 echos 6",
      durationMs: 1_234,
    });
    const md = readFileSync(join(dir, "latest-fake.md"), "utf8");
    expect(md).not.toContain(long);
    expect(md).toMatch(/JSON beside this file has every measurement in full/);
    expect(md).toContain("12 sequential requests give each of 2 echos 6");
    expect(md).toContain("failed (known peer defect)");
    expect(md).toContain("fake 0.1 answers 502 to a WebSocket over h2c");
  });

  it("keeps each run in runs/<timestamp>/ with latest pointing at the newest", () => {
    const dir = mkdtempSync(join(tmpdir(), "report-runs-"));
    const first = newRunDir(dir, new Date("2026-12-01T10:00:00.123Z"));
    const second = newRunDir(dir, new Date("2026-12-01T10:05:00.000Z"));
    expect(first).toBe(join(dir, "runs", "2026-12-01T10-00-00Z"));
    expect(second).toBe(join(dir, "runs", "2026-12-01T10-05-00Z"));
    expect(existsSync(first)).toBe(true);
    expect(readlinkSync(join(dir, "latest"))).toBe(join("runs", "2026-12-01T10-05-00Z"));
    expect(realpathSync(join(dir, "latest"))).toBe(realpathSync(second));
    writeReport(buildReport(target, driver, results, Date.now(), null), "fake", second);
    expect(existsSync(join(dir, "latest", "fake.json"))).toBe(true);
  });

  it("prints one line per finished test: target, id, outcome, seconds, and why when not passed", () => {
    expect(progressLine("envoy", results[0] as TestResult)).toBe(
      "[conformance] envoy rr-rotation-2 passed 1.2 s",
    );
    expect(progressLine("fake", results[1] as TestResult)).toBe(
      "[conformance] fake ws-mesh failed (known peer defect) 0.1 s: the upgrade answered 502",
    );
    expect(progressLine("fake", results[2] as TestResult)).toBe(
      "[conformance] fake h2-up skipped 0.0 s: not supported by fake",
    );
    // A declared defect that passed is no failure, but the declaration may be stale.
    const fixed = { ...(results[1] as TestResult), outcome: "passed" as const, durationMs: 2_000 };
    expect(progressLine("fake", fixed)).toBe(
      "[conformance] fake ws-mesh passed (known peer defect fixed?) 2.0 s",
    );
  });
});
