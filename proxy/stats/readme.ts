/**
 * The stats tables of proxy/README.md, generated from the declarations (./catalog.ts) between two
 * marker comments. `npm run docs:stats` writes them; proxy/test/stats/readme.test.ts fails when the
 * README and the declarations disagree.
 */
import { STAT_SCOPES } from "./catalog.js";
import type { ScopeDecl, StatDecl } from "./declare.js";

export const BEGIN_MARKER = "<!-- stats:begin (generated from the declarations by `npm run docs:stats`) -->";
export const END_MARKER = "<!-- stats:end -->";

/** Markdown: one table per scope, in the catalog's order. */
export function statsTables(scopes: readonly ScopeDecl[] = STAT_SCOPES): string {
  return scopes.map(scopeTable).join("\n").trimEnd();
}

function scopeTable(scope: ScopeDecl): string {
  const rows = [
    ...Object.entries(scope.stats).map(([name, decl]) => row(name, decl)),
    ...Object.entries(scope.patterns).map(([pattern, decl]) => row(pattern, decl)),
  ];
  return `### ${scope.title} (\`${scope.prefix}\`)\n\n${alignedTable(["Name", "Type", "Description"], rows)}`;
}

function row(name: string, decl: StatDecl): string[] {
  const type = decl.kind === "gauge" && decl.perProcess ? "gauge, per process" : decl.kind;
  return [`\`${name}\``, type, decl.help.replace(/\|/g, "\\|")];
}

/** A Markdown table with every column padded to its widest cell, as the formatter (Biome) writes it. */
function alignedTable(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |\n`;
  return line(head) + line(widths.map((w) => "-".repeat(w))) + rows.map(line).join("");
}

/** The text between the markers, or null when the README has no (or broken) markers. */
export function currentStatsTables(readme: string): string | null {
  const begin = readme.indexOf(BEGIN_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (begin < 0 || end < begin) return null;
  return readme.slice(begin + BEGIN_MARKER.length, end).replace(/^\n+|\n+$/g, "");
}

/** The README with the generated tables between the markers (which must be there). */
export function withStatsTables(readme: string): string {
  const begin = readme.indexOf(BEGIN_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (begin < 0 || end < begin) throw new Error(`no "${BEGIN_MARKER}" ... "${END_MARKER}" in the README`);
  return `${readme.slice(0, begin + BEGIN_MARKER.length)}\n\n${statsTables()}\n\n${readme.slice(end)}`;
}
