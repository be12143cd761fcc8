/** The matrix: one cell per feature and target, findings apart, three self-contained files. */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ALL_FEATURES } from "../harness/features.js";
import { buildMatrix, cellState, writeMatrix } from "../harness/matrix.js";
import type { Report } from "../harness/report.js";
import type { TestResult } from "../harness/types.js";

const result = (id: string, feature: TestResult["feature"], outcome: TestResult["outcome"], extra = {}) =>
  ({
    id,
    feature,
    topology: "front",
    description: `${id} works`,
    outcome,
    durationMs: 10,
    measurements: {},
    ...extra,
  }) as TestResult;

function report(name: string, results: TestResult[]): Report {
  return {
    kind: "echomesh-conformance-report",
    schemaVersion: 2,
    date: "2026-12-01T00:00:00.000Z",
    target: { name, description: name, dialect: "haproxy", image: null },
    driver: { name: "processes", reason: "test" },
    targetUnavailable: null,
    versions: { [name]: "1.0" },
    summary: { passed: 0, failed: 0, knownDefects: 0, skipped: 0, result: "success" },
    durationMs: 1,
    results,
  };
}

const a = report("a", [
  result("rr-1", "round-robin", "passed"),
  result("ws-1", "websocket", "failed", { reason: "502", knownDefect: "peer answers 502" }),
  result("h2-1", "h2-upstream", "skipped", { reason: "not supported by a" }),
]);
const b = report("b", [
  result("rr-1", "round-robin", "failed", { reason: "unfair" }),
  result("ws-1", "websocket", "skipped", { reason: "target b unavailable: not installed" }),
]);

describe("the conformance matrix", () => {
  it("names each cell by what its tests did", () => {
    const m = buildMatrix([a, b]);
    expect(m.cells["round-robin"]?.a?.state).toBe("passed");
    expect(m.cells["round-robin"]?.b?.state).toBe("failed");
    expect(m.cells.websocket?.a?.state).toBe("known-defect");
    expect(m.cells.websocket?.b?.state).toBe("skipped");
    expect(m.cells["h2-upstream"]?.a?.state).toBe("unsupported");
    expect(m.cells.mesh?.a?.state).toBe("not-run");
    expect(m.findings).toEqual([
      { target: "a", test: "ws-1", feature: "websocket", evidence: "peer answers 502" },
    ]);
    expect(cellState([])).toBe("not-run");
  });

  it("writes json, md (a row per feature, a column per target) and one html page without links", () => {
    const dir = mkdtempSync(join(tmpdir(), "matrix-"));
    writeMatrix([a, b], dir);
    const json = JSON.parse(readFileSync(join(dir, "matrix.json"), "utf8"));
    expect(json.schemaVersion).toBe(1);
    const md = readFileSync(join(dir, "matrix.md"), "utf8");
    const rows = md.split("\n").filter((l) => /^\| [a-z0-9-]+ +\|/.test(l) && !/^\| (feature|---)/.test(l));
    expect(rows).toHaveLength(ALL_FEATURES.length);
    // Columns padded as Biome formats Markdown (a copy under docs/ must pass the lint): every line of
    // the table is as long as the header, the first column left-aligned, the others centred.
    const table = md.split("\n").filter((l) => l.startsWith("|"));
    expect(table[0]).toMatch(/^\| feature +\| +a +\| +b +\|$/);
    expect(table[1]).toMatch(/^\| -+ \| :-+: \| :-+: \|$/);
    expect(new Set(table.map((l) => l.length)).size).toBe(1);
    expect(md).toMatch(/- \*\*a\*\* \(a 1\.0, \d{4}-\d\d-\d\d\) \(ws-1\): peer answers 502/);
    const html = readFileSync(join(dir, "matrix.html"), "utf8");
    expect(html).not.toMatch(/(src|href)=/);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain("<details>");
  });
});
