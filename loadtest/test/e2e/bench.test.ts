/**
 * Smoke test of the harness: one round of 1 s over two cheap targets (the minimal server and the echo
 * service), then the report files and their fields. No speed assertions. The harness runs compiled
 * children (dist/loadtest/load/worker.js, dist/echo/main.js, the peers), which the e2e project's
 * global setup has just built.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BenchResult, NothingSelected, runBench } from "../../bench.js";
import { parseBenchArgs } from "../../options.js";
import type { RunRecord } from "../../record.js";

let out: string;
let result: BenchResult;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), "echomesh-bench-test-"));
  const opts = parseBenchArgs([
    "--only",
    "echo",
    "--duration",
    "1",
    "--warmup",
    "0",
    "--rounds",
    "1",
    "--out",
    out,
  ]);
  result = await runBench(opts, () => {});
}, 120_000);

afterAll(() => {
  if (out !== undefined) rmSync(out, { recursive: true, force: true });
});

describe("npm run bench (tiny mode)", () => {
  it("refuses a selection of nothing before it starts anything, and keeps the last report", async () => {
    const opts = parseBenchArgs(["--only", "nosuch", "--quick", "--out", out]);
    await expect(runBench(opts, () => {})).rejects.toThrow(NothingSelected);
    await expect(runBench(opts, () => {})).rejects.toThrow("--only nosuch selects no scenario or target");
    expect(existsSync(join(out, "latest.json"))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, "latest.json"), "utf8")).runs).toHaveLength(2);
  });

  it("writes one JSON record per run with the required fields", () => {
    const json = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as { runs: RunRecord[] };
    expect(json.runs.map((r) => r.target).sort()).toEqual(["direct", "minimal"]);
    for (const r of json.runs) {
      expect(r).toMatchObject({ scenario: "echo", round: 1, errors: 0 });
      expect(r.failure).toBeUndefined();
      expect(r.requestsPerSec).toBeGreaterThan(0);
      expect(typeof r.latencyP50Ms).toBe("number");
      expect(typeof r.latencyP99Ms).toBe("number");
      expect(r.cpuUsPerRequest === null || r.cpuUsPerRequest > 0).toBe(true);
    }
    expect(result.runs).toHaveLength(2);
  });

  it("writes a Markdown table with the ratio to the baseline and the idle RSS", () => {
    const md = readFileSync(join(out, "latest.md"), "utf8");
    expect(md).toContain("## echo");
    expect(md).toMatch(
      /\| target \| req\/s per round \| × minimal \| × Envoy \| × HAProxy \| p50 ms \| p99 ms \| max ms \|/,
    );
    expect(md).toMatch(/\| direct \| [\d,]+ \| \d+\.\d\d× \|/);
    expect(md).toMatch(/Idle RSS after start .*direct \d+\.\d MiB/);
    // the Envoy version of the run (or why there is none) is in the header
    expect(md).toMatch(/ · Envoy (\d+\.\d+\.\d+|not found \(.+\)) · /);
    expect(md).toContain("echo GET / keeps >= 85% of the minimal server's req/s");
  });

  it("writes an SVG chart with a bar per target in the three panels", () => {
    const svg = readFileSync(join(out, "latest.svg"), "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("echo / minimal");
    expect(svg).toContain("echo / direct");
    expect(svg).toContain("CPU per request");
    expect(svg.match(/<rect x="\d/g)?.length ?? 0).toBeGreaterThanOrEqual(4);
  });
});
