/**
 * The conformance matrix: features x targets, one cell per pair, from one report per target
 * (`Report`, ./report.ts). Written as `matrix.json` (the data, with a schema version), `matrix.md`
 * (the table, the findings and the versions) and `matrix.html` (one self-contained page: each cell
 * opens to its tests, criteria and measured detail).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ALL_FEATURES, FEATURES } from "./features.js";
import { outcomeText, type Report } from "./report.js";
import type { Feature, TestResult } from "./types.js";

export const MATRIX_SCHEMA_VERSION = 1;

/**
 * A cell: `passed` (every test that ran passed), `failed` (a test failed that is not a known peer
 * defect), `known-defect` (only declared peer defects failed), `unsupported` (the target does not
 * claim the feature, or cannot express its topology), `skipped` (skipped for another reason: driver,
 * target unavailable), `not-run` (no test of it was selected).
 */
export type CellState = "passed" | "failed" | "known-defect" | "unsupported" | "skipped" | "not-run";

export interface Cell {
  state: CellState;
  tests: Pick<
    TestResult,
    "id" | "description" | "criterion" | "outcome" | "reason" | "knownDefect" | "durationMs" | "measurements"
  >[];
}

export interface Matrix {
  kind: "echomesh-conformance-matrix";
  schemaVersion: number;
  date: string;
  features: { name: Feature; meaning: string }[];
  targets: {
    name: string;
    description: string;
    dialect: string;
    driver: string;
    versions: Record<string, string>;
    unavailable: string | null;
    summary: Report["summary"];
  }[];
  /** cells[feature][target] */
  cells: Record<string, Record<string, Cell>>;
  /** Known peer defects: the findings, with their evidence. */
  findings: { target: string; test: string; feature: Feature; evidence: string }[];
}

function isUnsupported(r: TestResult): boolean {
  return r.outcome === "skipped" && /^not supported by |cannot express/.test(r.reason ?? "");
}

export function cellState(results: TestResult[]): CellState {
  if (results.length === 0) return "not-run";
  if (results.some((r) => r.outcome === "failed" && r.knownDefect === undefined)) return "failed";
  if (results.some((r) => r.outcome === "failed")) return "known-defect";
  if (results.some((r) => r.outcome === "passed")) return "passed";
  return results.every(isUnsupported) ? "unsupported" : "skipped";
}

export function buildMatrix(reports: Report[], date = new Date()): Matrix {
  const cells: Matrix["cells"] = {};
  for (const f of ALL_FEATURES) {
    cells[f] = {};
    for (const rep of reports) {
      const results = rep.results.filter((r) => r.feature === f);
      (cells[f] as Record<string, Cell>)[rep.target.name] = {
        state: cellState(results),
        tests: results.map(
          ({ id, description, criterion, outcome, reason, knownDefect, durationMs, measurements }) => ({
            id,
            description,
            ...(criterion === undefined ? {} : { criterion }),
            outcome,
            ...(reason === undefined ? {} : { reason }),
            ...(knownDefect === undefined ? {} : { knownDefect }),
            durationMs,
            measurements,
          }),
        ),
      };
    }
  }
  return {
    kind: "echomesh-conformance-matrix",
    schemaVersion: MATRIX_SCHEMA_VERSION,
    date: date.toISOString(),
    features: ALL_FEATURES.map((name) => ({ name, meaning: FEATURES[name] })),
    targets: reports.map((r) => ({
      name: r.target.name,
      description: r.target.description,
      dialect: r.target.dialect,
      driver: r.driver.name,
      versions: r.versions,
      unavailable: r.targetUnavailable,
      summary: r.summary,
    })),
    cells,
    findings: reports.flatMap((rep) =>
      rep.results
        .filter((r) => r.outcome === "failed" && r.knownDefect !== undefined)
        .map((r) => ({
          target: rep.target.name,
          test: r.id,
          feature: r.feature,
          evidence: r.knownDefect ?? "",
        })),
    ),
  };
}

const SYMBOL: Record<CellState, string> = {
  passed: "✓",
  failed: "✗",
  "known-defect": "✗ finding",
  unsupported: "–",
  skipped: "skipped",
  "not-run": "",
};

function counts(cell: Cell): string {
  const passed = cell.tests.filter((t) => t.outcome === "passed").length;
  const ran = cell.tests.filter((t) => t.outcome !== "skipped").length;
  return ran > 0 ? ` ${passed}/${ran}` : "";
}

/** The versions of a finding's target beyond our own (node, echomesh): " (caddy 2.6.2)". */
function peerVersions(m: Matrix, target: string): string {
  const versions = Object.entries(m.targets.find((t) => t.name === target)?.versions ?? {})
    .filter(([k]) => k !== "node" && k !== "echomesh")
    .map(([k, v]) => `${k} ${v}`);
  return versions.length > 0
    ? ` (${versions.join(", ")}, ${m.date.slice(0, 10)})`
    : ` (${m.date.slice(0, 10)})`;
}

const mdEscape = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");

/**
 * A Markdown table with its columns padded as a Markdown formatter (Biome) lays them out, so a copy of
 * matrix.md under docs/ passes `npm run lint` as written: the first column left-aligned, the others
 * centred.
 */
function alignedTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const pad = (cell: string, i: number) => {
    const w = widths[i] ?? 0;
    if (i === 0) return cell.padEnd(w);
    const left = Math.floor((w - cell.length) / 2);
    return " ".repeat(left) + cell.padEnd(w - left);
  };
  const line = (cells: string[]) => `| ${cells.map(pad).join(" | ")} |`;
  const rule = `| ${widths.map((w, i) => (i === 0 ? "-".repeat(w) : `:${"-".repeat(w - 2)}:`)).join(" | ")} |`;
  return [line(header), rule, ...rows.map(line)];
}

export function matrixMarkdown(m: Matrix): string {
  const table = alignedTable(
    ["feature", ...m.targets.map((t) => t.name)],
    m.features.map(({ name }) => [
      name,
      ...m.targets.map((t) => {
        const cell = m.cells[name]?.[t.name];
        return cell ? `${SYMBOL[cell.state]}${cell.state === "unsupported" ? "" : counts(cell)}` : "";
      }),
    ]),
  );
  // One finding per (target, evidence): several tests often show the same defect.
  const grouped = new Map<string, { target: string; tests: string[]; evidence: string }>();
  for (const f of m.findings) {
    const key = `${f.target}\u0000${f.evidence}`;
    const g = grouped.get(key) ?? { target: f.target, tests: [], evidence: f.evidence };
    g.tests.push(f.test);
    grouped.set(key, g);
  }
  return [
    "# Conformance matrix",
    "",
    `${m.date.slice(0, 10)}. ✓ every test of the feature passed (passed/ran), ✗ a test failed, ✗ finding: only a`,
    "declared real defect of the peer failed (below, with the evidence), – the target does not claim the",
    "feature (or its config language cannot express the topology), skipped: not run here (driver, target",
    "unavailable), empty: no test of the feature was selected.",
    "",
    ...table,
    "",
    "## Findings",
    "",
    ...(grouped.size === 0
      ? ["None."]
      : [...grouped.values()].map(
          (g) =>
            `- **${g.target}**${peerVersions(m, g.target)} (${g.tests.join(", ")}): ${mdEscape(g.evidence)}`,
        )),
    "",
    "## Targets",
    "",
    ...m.targets.map((t) => {
      const versions = Object.entries(t.versions)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ");
      const why = t.unavailable ? `; unavailable: ${t.unavailable}` : "";
      return `- **${t.name}** (${mdEscape(t.description)}), ${t.dialect} configs, ${t.driver} driver; ${versions}${why}`;
    }),
    "",
    "## Features",
    "",
    ...m.features.map((f) => `- **${f.name}**: ${f.meaning}`),
    "",
  ].join("\n");
}

const html = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

const COLOR: Record<CellState, string> = {
  passed: "#d8f5d0",
  failed: "#f8c9c4",
  "known-defect": "#fbe3b5",
  unsupported: "#eeeeee",
  skipped: "#f6f6f6",
  "not-run": "#ffffff",
};

function cellHtml(cell: Cell | undefined): string {
  if (!cell) return "<td></td>";
  const detail = cell.tests
    .map((t) => {
      const lines = [
        `<b>${html(t.id)}</b>: ${html(outcomeText(t))}, ${(t.durationMs / 1000).toFixed(1)} s`,
        `<i>${html(t.criterion ?? t.description)}</i>`,
        ...(t.knownDefect ? [`finding: ${html(t.knownDefect)}`] : []),
        ...(t.reason ? [html(t.reason)] : []),
        ...(Object.keys(t.measurements).length > 0
          ? [`<code>${html(JSON.stringify(t.measurements))}</code>`]
          : []),
      ];
      return `<li>${lines.join("<br>")}</li>`;
    })
    .join("");
  const label = `${SYMBOL[cell.state] || "&nbsp;"}${cell.state === "unsupported" ? "" : counts(cell)}`;
  return `<td style="background:${COLOR[cell.state]}"><details><summary>${html(label)}</summary><ul>${detail}</ul></details></td>`;
}

export function matrixHtml(m: Matrix): string {
  const head = m.targets
    .map((t) => `<th title="${html(`${t.description}; ${JSON.stringify(t.versions)}`)}">${html(t.name)}</th>`)
    .join("");
  const rows = m.features
    .map(
      (f) =>
        `<tr><th title="${html(f.meaning)}">${html(f.name)}</th>${m.targets.map((t) => cellHtml(m.cells[f.name]?.[t.name])).join("")}</tr>`,
    )
    .join("\n");
  const findings = m.findings
    .map((f) => `<li><b>${html(f.target)}</b> ${html(f.test)}: ${html(f.evidence)}</li>`)
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>echomesh conformance matrix</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 8px;vertical-align:top}
th{text-align:left;background:#fafafa}td{text-align:center;min-width:7em}
details ul{text-align:left;font-size:12px;max-width:40em;padding-left:1.2em}code{word-break:break-all}
</style></head><body>
<h1>echomesh conformance matrix</h1>
<p>${html(m.date)}. Click a cell for its tests, what passing means and what was measured.
✓ passed, ✗ failed, ✗ finding: a declared real defect of the peer, – not claimed by the target.</p>
<table><tr><th>feature</th>${head}</tr>
${rows}
</table>
<h2>Findings</h2><ul>${findings || "<li>None.</li>"}</ul>
<h2>Targets</h2><ul>${m.targets.map((t) => `<li><b>${html(t.name)}</b>: ${html(t.description)} (${html(t.dialect)}, ${html(t.driver)} driver) ${html(JSON.stringify(t.versions))}</li>`).join("")}</ul>
</body></html>
`;
}

/** Write matrix.json, matrix.md and matrix.html under `dir`; returns the three paths. */
export function writeMatrix(reports: Report[], dir: string): string[] {
  const m = buildMatrix(reports);
  mkdirSync(dir, { recursive: true });
  const files = [join(dir, "matrix.json"), join(dir, "matrix.md"), join(dir, "matrix.html")];
  writeFileSync(files[0] as string, `${JSON.stringify(m, null, 2)}\n`);
  writeFileSync(files[1] as string, matrixMarkdown(m));
  writeFileSync(files[2] as string, matrixHtml(m));
  return files;
}
