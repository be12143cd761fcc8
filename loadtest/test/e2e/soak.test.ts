/**
 * Smoke test of the soak harness: a few seconds of the mixed traffic through our proxy's mesh, then
 * the report files and their fields. No verdict asserted: seconds are too short for a flat RSS.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSoakArgs, runSoak, type SoakReport } from "../../soak.js";

let out: string;
let report: SoakReport;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), "echomesh-soak-test-"));
  const opts = parseSoakArgs(["--duration", "3", "--warmup", "1", "--sample", "1", "--settle", "0.5"]);
  ({ report } = await runSoak({ ...opts, rate: 60, outDir: out }, () => {}));
}, 120_000);

afterAll(() => {
  if (out !== undefined) rmSync(out, { recursive: true, force: true });
});

describe("npm run bench -- --scenario soak (a few seconds)", () => {
  it("samples RSS and fds of every proxy and echo process and judges each", () => {
    const json = JSON.parse(readFileSync(join(out, "soak.json"), "utf8")) as SoakReport;
    expect(json.processes.map((p) => p.name)).toEqual(["sidecar1", "sidecar2", "front", "echo1", "echo2"]);
    for (const p of json.processes) {
      expect(p.samples.length).toBeGreaterThanOrEqual(3);
      expect(p.samples.every((s) => s.rssMb > 0 && s.fds > 0)).toBe(true);
      expect(p.baseline.fds).toBeGreaterThan(0);
      expect(p.end.fds).toBeGreaterThan(0);
    }
    expect(["flat", "not flat"]).toContain(json.verdict);
  });

  it("ran every kind of traffic", () => {
    for (const [kind, t] of Object.entries(report.traffic.ops)) expect(t.ok, kind).toBeGreaterThan(0);
  });

  it("writes the Markdown verdict and a line plot of both panels", () => {
    expect(readFileSync(join(out, "soak.md"), "utf8")).toMatch(/^# Soak: echomesh-mesh, (flat|not flat)/);
    const svg = readFileSync(join(out, "soak.svg"), "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("RSS (MiB)");
    expect(svg).toContain("open file descriptors (fds)");
    expect(svg.match(/<polyline /g)).toHaveLength(10);
  });
});
