/**
 * `node dist/conformance/matrix.js [--report-dir DIR]`: the conformance matrix from the latest report
 * of each target found in DIR (default conformance/report): `latest-<target>.json` of every target
 * the suite knows (not the self-test's mini proxies), so several runs (containers for some targets,
 * processes for others) make one matrix. A report of another schema version is left out (named on
 * stderr). Writes DIR/matrix.{json,md,html}; exit 3 when no report is there.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeMatrix } from "./harness/matrix.js";
import { DEFAULT_REPORT_DIR, REPORT_SCHEMA_VERSION, type Report } from "./harness/report.js";
import { MATRIX_TARGETS } from "./harness/targets.js";

function main(argv: string[]): number {
  let dir = DEFAULT_REPORT_DIR;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--report-dir" && argv[i + 1] !== undefined) dir = argv[++i] as string;
    else if (a === "--help" || a === "-h") {
      process.stdout.write("usage: node dist/conformance/matrix.js [--report-dir DIR]\n");
      return 0;
    } else {
      process.stderr.write(`matrix: unknown argument ${a} (usage: --report-dir DIR)\n`);
      return 2;
    }
  }
  const reports: Report[] = [];
  for (const name of MATRIX_TARGETS) {
    const file = join(dir, `latest-${name}.json`);
    if (!existsSync(file)) continue;
    const report = JSON.parse(readFileSync(file, "utf8")) as Report;
    // An older shape lacks what the matrix shows (each test's words, known defects): named, not used.
    if (report.schemaVersion !== REPORT_SCHEMA_VERSION) {
      process.stderr.write(
        `matrix: ${file} has report schema ${report.schemaVersion ?? 1}, not ${REPORT_SCHEMA_VERSION}: left out (run that target again)\n`,
      );
      continue;
    }
    reports.push(report);
  }
  if (reports.length === 0) {
    process.stderr.write(`matrix: no latest-<target>.json in ${dir}\n`);
    return 3;
  }
  for (const f of writeMatrix(reports, dir)) process.stdout.write(`${f}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
