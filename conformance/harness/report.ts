/**
 * The run report, one per target: conformance/report/latest-<target>.json + .md, a summary table on
 * stdout and one summary line per target.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fromRoot } from "../../lib/paths.js";
import type { Driver, Target, TestResult } from "./types.js";

const reportDir = fromRoot("conformance", "report");

export interface Report {
  kind: "echomesh-conformance-report";
  date: string;
  target: { name: string; description: string; dialect: string; image: string | null };
  driver: { name: string; reason: string };
  /** Why nothing ran, when the target could not be had. */
  targetUnavailable: string | null;
  versions: Record<string, string>;
  summary: { passed: number; failed: number; skipped: number; result: "success" | "partial" | "failure" };
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
  const summary = { passed: count("passed"), failed: count("failed"), skipped: count("skipped") };
  return {
    kind: "echomesh-conformance-report",
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
      result: summary.failed > 0 ? "failure" : summary.skipped > 0 ? "partial" : "success",
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
  return `${passed} passed, ${failed} failed, ${skipped} skipped (${result}) in ${(report.durationMs / 1000).toFixed(1)} s`;
}

export function summaryTable(report: Report): string {
  const rows = report.results.map((r) => [r.id, r.outcome, r.reason ?? short(r.measurements)]);
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
    `- result: **${report.summary.result}**: ${report.summary.passed} passed, ${report.summary.failed} failed, ${report.summary.skipped} skipped`,
    "",
    "| test | feature | result | details |",
    "| --- | --- | --- | --- |",
    ...report.results.map(
      (r) => `| ${r.id} | ${r.feature} | ${r.outcome} | ${esc(r.reason ?? short(r.measurements))} |`,
    ),
    "",
  ].join("\n");
}

/** Write `<name>.json` and `<name>.md` under conformance/report/. */
export function writeReport(report: Report, name = "latest"): string {
  mkdirSync(reportDir, { recursive: true });
  const file = join(reportDir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(reportDir, `${name}.md`), markdown(report));
  return file;
}
