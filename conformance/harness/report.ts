/**
 * The run report, one per target: `<report dir>/latest-<target>.json` + `.md` and a copy in the run's
 * own folder (`runs/<timestamp>/`, `latest` pointing at it), a summary table on stdout and one
 * summary line per target. The JSON holds every test's description, criterion and measured detail
 * untruncated; `schemaVersion` says its shape.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fromRoot } from "../../lib/paths.js";
import type { Driver, Target, TestResult } from "./types.js";

/** Where reports go unless a run says otherwise (`--report-dir`). */
export const DEFAULT_REPORT_DIR = fromRoot("conformance", "report");

/** The report's shape: 2 added description, criterion, knownDefect per test and runs/<timestamp>/. */
export const REPORT_SCHEMA_VERSION = 2;

export interface Report {
  kind: "echomesh-conformance-report";
  schemaVersion: number;
  date: string;
  target: { name: string; description: string; dialect: string; image: string | null };
  driver: { name: string; reason: string };
  /** Why nothing ran, when the target could not be had. */
  targetUnavailable: string | null;
  versions: Record<string, string>;
  /**
   * `failed` counts every failed test; `knownDefects` those of them the target declares as real peer
   * defects (findings). `result` is "failure" only when a test failed that is not a known defect.
   */
  summary: {
    passed: number;
    failed: number;
    knownDefects: number;
    skipped: number;
    result: "success" | "partial" | "failure";
  };
  durationMs: number;
  results: TestResult[];
}

function versions(driver: Driver, target: Target): Record<string, string> {
  const pkg = JSON.parse(readFileSync(fromRoot("package.json"), "utf8")) as { version: string };
  const out: Record<string, string> = {
    node: process.version,
    echomesh: pkg.version,
    ...target.versions?.(),
  };
  if (driver.name === "containers") {
    try {
      out.dockerEngine = execFileSync("docker", ["version", "--format", "{{.Server.Version}}"], {
        timeout: 10_000,
      })
        .toString()
        .trim();
      if (target.image) {
        out.image = execFileSync("docker", ["image", "inspect", "--format", "{{.Id}}", target.image], {
          timeout: 10_000,
        })
          .toString()
          .trim();
      }
    } catch {
      // reported without
    }
  }
  return out;
}

export function buildReport(
  target: Target,
  driver: Driver,
  results: TestResult[],
  startedAt: number,
  targetUnavailable: string | null,
): Report {
  const count = (o: TestResult["outcome"]) => results.filter((r) => r.outcome === o).length;
  const knownDefects = results.filter((r) => r.outcome === "failed" && r.knownDefect !== undefined).length;
  const summary = {
    passed: count("passed"),
    failed: count("failed"),
    knownDefects,
    skipped: count("skipped"),
  };
  return {
    kind: "echomesh-conformance-report",
    schemaVersion: REPORT_SCHEMA_VERSION,
    date: new Date(startedAt).toISOString(),
    target: {
      name: target.name,
      description: target.description,
      dialect: target.dialect,
      image: target.image,
    },
    driver: { name: driver.name, reason: driver.reason },
    targetUnavailable,
    versions: versions(driver, target),
    summary: {
      ...summary,
      result:
        summary.failed > knownDefects
          ? "failure"
          : summary.skipped > 0 || knownDefects > 0
            ? "partial"
            : "success",
    },
    durationMs: Date.now() - startedAt,
    results,
  };
}

function short(m: Record<string, unknown>): string {
  const s = Object.entries(m)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  return s.length > 140 ? `${s.slice(0, 137)}...` : s;
}

function versionList(report: Report): string {
  return Object.entries(report.versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
}

function counted(report: Report): string {
  const { passed, failed, skipped, result } = report.summary;
  const known = report.summary.knownDefects ?? 0;
  const findings = known > 0 ? ` (${known} known peer defects)` : "";
  return `${passed} passed, ${failed} failed${findings}, ${skipped} skipped (${result}) in ${(report.durationMs / 1000).toFixed(1)} s`;
}

/**
 * A result's outcome in words: a declared peer defect that failed is a known one; one that passed
 * is not a failure either, but the declaration may be out of date ("fixed?").
 */
export function outcomeText(r: Pick<TestResult, "outcome" | "knownDefect">): string {
  if (r.knownDefect === undefined || r.outcome === "skipped") return r.outcome;
  return r.outcome === "failed" ? "failed (known peer defect)" : "passed (known peer defect fixed?)";
}

/** The line printed as each test finishes (progress while a run goes on). */
export function progressLine(target: string, r: TestResult): string {
  const why = r.outcome === "passed" ? "" : `: ${(r.reason ?? "").split("\n")[0]?.slice(0, 160)}`;
  return `[conformance] ${target} ${r.id} ${outcomeText(r)} ${(r.durationMs / 1000).toFixed(1)} s${why}`;
}

export function summaryTable(report: Report): string {
  const rows = report.results.map((r) => [r.id, outcomeText(r), r.reason ?? short(r.measurements)]);
  const w0 = Math.max(4, ...rows.map((r) => r[0]?.length ?? 0));
  const lines = [
    `conformance: target ${report.target.name} (${report.target.description}), driver ${report.driver.name} (${report.driver.reason})`,
    `versions: ${versionList(report)}`,
    ...(report.targetUnavailable ? [`target unavailable: ${report.targetUnavailable}`] : []),
    `${"test".padEnd(w0)}  result   details`,
    ...rows.map(
      ([id, outcome, detail]) => `${(id ?? "").padEnd(w0)}  ${(outcome ?? "").padEnd(7)}  ${detail}`,
    ),
    counted(report),
  ];
  return lines.join("\n");
}

/** One line per target for the end of a run, naming the Envoy version where there is one. */
export function summaryLine(report: Report): string {
  const envoy = report.versions.envoy ? ` (Envoy ${report.versions.envoy})` : "";
  const why = report.targetUnavailable ? `; unavailable: ${report.targetUnavailable}` : "";
  return `[conformance] ${report.target.name}${envoy}: ${counted(report)}${why}`;
}

function markdown(report: Report): string {
  const esc = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");
  return [
    `# Conformance report: ${report.target.name}`,
    "",
    `- date: ${report.date}`,
    `- target: ${report.target.name} (${esc(report.target.description)})`,
    `- driver: ${report.driver.name} (${esc(report.driver.reason)})`,
    ...(report.targetUnavailable ? [`- target unavailable: ${esc(report.targetUnavailable)}`] : []),
    `- versions: ${versionList(report)}`,
    `- result: **${report.summary.result}**: ${counted(report)}`,
    "",
    "Details are shortened here; the JSON beside this file has every measurement in full.",
    "",
    "| test | feature | result | time | what passing means | details |",
    "| --- | --- | --- | --: | --- | --- |",
    ...report.results.map((r) => {
      const detail = r.knownDefect ?? r.reason ?? short(r.measurements);
      return `| ${r.id} | ${r.feature} | ${outcomeText(r)} | ${(r.durationMs / 1000).toFixed(1)} s | ${esc(r.criterion ?? r.description)} | ${esc(detail)} |`;
    }),
    "",
  ].join("\n");
}

/** Write `<name>.json` and `<name>.md` under `dir` (default conformance/report/). */
export function writeReport(report: Report, name = "latest", dir = DEFAULT_REPORT_DIR): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(dir, `${name}.md`), markdown(report));
  return file;
}

/**
 * A new folder for one run's reports, `<dir>/runs/<timestamp>/`, with `<dir>/latest` (a symlink)
 * pointing at it. Earlier runs stay.
 */
export function newRunDir(dir = DEFAULT_REPORT_DIR, at = new Date()): string {
  const name = at
    .toISOString()
    .replaceAll(":", "-")
    .replace(/\.\d+Z$/, "Z");
  const run = join(dir, "runs", name);
  mkdirSync(run, { recursive: true });
  const latest = join(dir, "latest");
  rmSync(latest, { force: true, recursive: false });
  symlinkSync(join("runs", name), latest, "dir");
  return run;
}
