/**
 * Smoke test of the reload bench: 4 s of load through our proxy (SIGHUP, CDS file) and Envoy (CDS
 * file) with two reloads, each from {echo1, echo2} to {echo2, echo3} and back. Each reload must take
 * effect (echo3 answers only after the first) and no request may fail; the report files are written.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findEnvoy } from "../../../lib/envoy.js";
import { parseReloadArgs, type ReloadRun, runReload } from "../../reload.js";

const ours = ["echomesh-sighup", "echomesh-cds"];
const targets = findEnvoy().found ? [...ours, "envoy-cds"] : ours;
let out: string;
let runs: ReloadRun[];

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), "echomesh-reload-test-"));
  const opts = parseReloadArgs([
    "--duration",
    "4",
    "--reloads",
    "2",
    "--rate",
    "200",
    "--only",
    targets.join(","),
  ]);
  ({ runs } = await runReload({ ...opts, outDir: out }, () => {}));
}, 120_000);

afterAll(() => {
  if (out !== undefined) rmSync(out, { recursive: true, force: true });
});

describe("npm run bench -- --scenario reload (a few seconds)", () => {
  it("every reload takes effect and no request fails", () => {
    expect(runs.map((r) => r.target)).toEqual(targets);
    for (const r of runs) {
      expect(r.failure, r.target).toBeUndefined();
      expect(r.reloadAtMs, r.target).toHaveLength(2);
      expect(r.requests, r.target).toBeGreaterThan(400);
      expect(r.errors, `${r.target}: ${JSON.stringify(r.statusCodes)}`).toBe(0);
      const [echo1 = 0, echo2 = 0, echo3 = 0] = r.perEcho;
      expect(Math.min(echo1, echo2, echo3), `${r.target}: ${r.perEcho.join(" / ")}`).toBeGreaterThan(0);
      expect(echo2, r.target).toBeGreaterThan(echo1);
    }
  });

  it("writes the table", () => {
    const md = readFileSync(join(out, "reload.md"), "utf8");
    expect(md).toMatch(/^# Reload under load/);
    for (const t of targets) expect(md).toContain(`| ${t} |`);
    expect(JSON.parse(readFileSync(join(out, "reload.json"), "utf8")).runs).toHaveLength(targets.length);
  });
});
