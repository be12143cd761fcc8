/**
 * The mutants stay applicable without a build: each mutant's search texts must occur exactly once in
 * its source file as TypeScript emits it (`transpileModule`: the build's target, ES modules), so a
 * change to the code a mutant edits fails here, in the unit tier, rather than at the next
 * `npm run conformance:mutants` (whose own check reads `dist/`).
 */
import { readFileSync } from "node:fs";
import ts from "typescript";
import { describe, expect, test } from "vitest";
import { fromRoot } from "../../lib/paths.js";
import { mutants } from "../mutants/mutants.js";

function emitted(file: string): string {
  const source = readFileSync(fromRoot(file), "utf8");
  return ts.transpileModule(source, {
    fileName: file,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 },
  }).outputText;
}

function occurrences(text: string, part: string): number {
  let n = 0;
  for (let at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + part.length)) n++;
  return n;
}

describe("conformance mutants", () => {
  test("at least 25, unique names, each documented", () => {
    expect(mutants.length).toBeGreaterThanOrEqual(25);
    expect(new Set(mutants.map((m) => m.name)).size).toBe(mutants.length);
    for (const m of mutants) {
      expect(m.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(m.description.length, m.name).toBeGreaterThan(10);
      expect(m.edits.length, m.name).toBeGreaterThan(0);
    }
  });

  for (const m of mutants) {
    test(`${m.name} applies to ${m.file}`, () => {
      const text = emitted(m.file);
      for (const e of m.edits) {
        expect(occurrences(text, e.search), `${m.name}: ${JSON.stringify(e.search)}`).toBe(1);
        expect(e.replace, m.name).not.toBe(e.search);
      }
    });
  }
});
