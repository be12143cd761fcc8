/**
 * No test runs stale code: in a copy of this tree whose `dist/` is already built, a source string is
 * changed and the e2e entry point (`vitest run --project e2e`) runs a test that asks the built CLI
 * for it. It sees the edit only because the e2e project's global setup rebuilds (incremental
 * `tsc -b`) before any test; without it, the copy's old `dist/` answers and this test fails.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromRoot, packageRoot } from "../paths.js";
import { runToEnd } from "../process.js";

/** What the copy leaves out: dependencies are linked, reports and VCS data are not needed. */
const SKIP = new Set([
  "node_modules",
  ".git",
  "coverage",
  ".vitest-reports",
  "loadtest/results",
  "conformance/report",
]);
const USAGE_FILE = "proxy/server/options.ts";
const USAGE_HEAD = "Usage: echomesh-proxy";
const PROBE = "test-support/test/fresh-build-probe.test.ts";

describe("tests run the code as edited, never a stale dist/", () => {
  let copy: string;
  const marker = `Usage: echomesh-proxy-edited-${process.pid}`;

  beforeAll(() => {
    copy = mkdtempSync(join(tmpdir(), "echomesh-fresh-"));
    cpSync(packageRoot, copy, {
      recursive: true,
      preserveTimestamps: true,
      filter: (src) => !SKIP.has(relative(packageRoot, src)),
    });
    symlinkSync(fromRoot("node_modules"), join(copy, "node_modules"), "dir");
    const source = readFileSync(join(copy, USAGE_FILE), "utf8");
    expect(source).toContain(USAGE_HEAD);
    writeFileSync(join(copy, USAGE_FILE), source.replace(USAGE_HEAD, marker));
    writeFileSync(
      join(copy, PROBE),
      [
        'import { expect, it } from "vitest";',
        'import { PROXY_MAIN } from "../paths.js";',
        'import { runToEnd } from "../process.js";',
        'it("the built proxy prints the edited usage", async () => {',
        '  const r = await runToEnd(PROXY_MAIN, ["--help"]);',
        `  expect(r.stdout).toContain(${JSON.stringify(marker)});`,
        "});",
        "",
      ].join("\n"),
    );
  });

  afterAll(() => {
    if (copy !== undefined) rmSync(copy, { recursive: true, force: true });
  });

  it("the copy's dist/ starts out stale (built before the edit)", () => {
    const built = join(copy, "dist", "proxy", "server", "options.js");
    expect(existsSync(built)).toBe(true);
    expect(readFileSync(built, "utf8")).not.toContain(marker);
  });

  it("the e2e entry point rebuilds first, so its test sees the edit", async () => {
    const vitest = join(copy, "node_modules", "vitest", "vitest.mjs");
    const r = await runToEnd(vitest, ["run", "--project", "e2e", PROBE], {
      cwd: copy,
      timeoutMs: 120_000,
      env: { CI: "true", NO_COLOR: "1" },
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 passed/);
    expect(readFileSync(join(copy, "dist", "proxy", "server", "options.js"), "utf8")).toContain(marker);
  }, 150_000);
});
