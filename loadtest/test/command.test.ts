/** The load-test commands' shared pieces: numeric flags and the report files. */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { countFlag, numberFlag, writeReport } from "../command.js";

const dirs: string[] = [];

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("load-test command pieces", () => {
  it("numeric flags: the default when absent, the value when valid, an error naming the flag otherwise", () => {
    expect(numberFlag("rate", undefined, 100, 1)).toBe(100);
    expect(numberFlag("sample", "0.5", 10, 0.2)).toBe(0.5);
    expect(() => numberFlag("rate", "0", 100, 1)).toThrow("--rate must be a number >= 1 (got 0)");
    expect(() => numberFlag("rate", "x", 100, 1)).toThrow("--rate must be a number >= 1 (got x)");
    expect(() => numberFlag("rate", "", 100, 1)).toThrow("--rate must be a number >= 1 (got nothing)");
    expect(countFlag("streams", "3", 3000)).toBe(3);
    expect(() => countFlag("streams", "1.5", 3000)).toThrow("--streams must be a positive integer (got 1.5)");
  });

  it("writeReport: <base>.md and indented <base>.json, <base>.svg only with a chart", () => {
    const dir = mkdtempSync(join(tmpdir(), "echomesh-report-"));
    dirs.push(dir);
    const out = join(dir, "nested");
    expect(writeReport(out, "attack", { markdown: "# a", data: { n: 1 } })).toEqual({
      md: join(out, "attack.md"),
      json: join(out, "attack.json"),
    });
    expect(readFileSync(join(out, "attack.json"), "utf8")).toBe('{\n  "n": 1\n}\n');
    const files = writeReport(out, "soak", { markdown: "# s", data: [], svg: "<svg/>" });
    expect(Object.values(files)).toEqual([
      join(out, "soak.md"),
      join(out, "soak.json"),
      join(out, "soak.svg"),
    ]);
    expect(readFileSync(files.md, "utf8")).toBe("# s");
    expect(readFileSync(join(out, "soak.svg"), "utf8")).toBe("<svg/>");
  });
});
