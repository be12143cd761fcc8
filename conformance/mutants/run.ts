/**
 * Our own mutation testing (`npm run conformance:mutants`): for each mutant of ./mutants.ts, a copy
 * of `dist/` in a temporary folder (with `package.json` and a `node_modules` symlink), the mutant's
 * edits applied to the copy, and the conformance suite run against `<copy>/dist/proxy/main.js` with
 * the process driver (the `echomesh` target, v2 configs, or `echomesh-v3` where the mutant says so;
 * the echos run from the real `dist/`).
 * A mutant is killed at its first failing check (or a topology that does not start, or a proxy whose
 * process guard caught a bug); it survives when every check passes. Mutants run one after the other,
 * each within a time limit. First, the unmutated copy must pass on each target used (the control),
 * else nothing is judged.
 *
 *   node dist/conformance/mutants/run.js [--only a,b] [--tests id-or-feature,...] [--time-limit S]
 *                                        [--no-control] [--check]
 *
 * `--check` only proves every mutant applies to today's build (no suite run). Prints one line per
 * mutant and the mutation score; writes conformance/report/mutants.json. Exit 0 when every mutant
 * not documented as equivalent is killed, 1 when one survives, 2 on a stale mutant or a failed control.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { distDir, fromDist, fromRoot, packageRoot } from "../../lib/paths.js";
import { processDriver } from "../harness/driver-processes.js";
import { byTopology, matching, runTest, type Stage, startStage, stopStage } from "../harness/runner.js";
import { selectTarget } from "../harness/targets.js";
import type { ConformanceTest, Driver, Target, TestResult } from "../harness/types.js";
import { allTests } from "../tests/index.js";
import { type Mutant, mutants } from "./mutants.js";

const DEFAULT_TIME_LIMIT_S = 300;

type Outcome = "killed" | "survived" | "equivalent" | "time-limit";

interface MutantResult {
  name: string;
  area: string;
  outcome: Outcome;
  /** The first failing check (killed), or why the run stopped. */
  by?: string;
  reason?: string;
  testsRun: number;
  durationMs: number;
}

/** The compiled file a mutant edits. */
function compiledPath(file: string): string {
  return file.replace(/\.ts$/, ".js");
}

class StaleMutant extends Error {}

function count(text: string, part: string): number {
  let n = 0;
  for (let at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + part.length)) n++;
  return n;
}

/** The mutated text of the mutant's file; throws StaleMutant when a search text is not there exactly once. */
function mutatedText(m: Mutant, dist: string): string {
  const path = join(dist, compiledPath(m.file));
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new StaleMutant(`${m.name}: ${compiledPath(m.file)} is not in dist/ (was ${m.file} moved?)`);
  }
  for (const [i, e] of m.edits.entries()) {
    const n = count(text, e.search);
    if (n !== 1)
      throw new StaleMutant(
        `${m.name}: edit ${i + 1} ${n === 0 ? "not found" : `found ${n} times`} in dist/${compiledPath(m.file)} ` +
          `(stale: update its search text to today's ${m.file})`,
      );
    text = text.replace(e.search, () => e.replace);
  }
  return text;
}

/** A copy of the package's runnable tree: dist/, package.json, node_modules (symlinked). */
function copyTree(label: string): string {
  const root = mkdtempSync(join(tmpdir(), `echomesh-mutant-${label}-`));
  cpSync(distDir, join(root, "dist"), { recursive: true });
  cpSync(fromRoot("package.json"), join(root, "package.json"));
  symlinkSync(fromRoot("node_modules"), join(root, "node_modules"), "dir");
  return root;
}

type BaseTarget = NonNullable<Mutant["target"]>;

/** The `echomesh` (or `echomesh-v3`) target with its program replaced by the copy's proxy. */
function targetFor(root: string, baseName: BaseTarget, name: string, description: string): Target {
  const base = selectTarget(baseName);
  const original = fromDist("proxy/main.js");
  const copy = join(root, "dist", "proxy", "main.js");
  const command = base.processCommand;
  if (command === null) throw new Error("the echomesh target has no process command");
  return {
    ...base,
    name,
    description,
    processCommand: (config, serviceCluster, dnsMap) =>
      command(config, serviceCluster, dnsMap).map((arg) => (arg === original ? copy : arg)),
  };
}

interface SuiteRun {
  failed: TestResult | null;
  testsRun: number;
  timedOut: boolean;
}

/** The suite against `target`, topology by topology, stopping at the first failure or at `deadline`. */
async function runSuite(
  driver: Driver,
  target: Target,
  tests: ConformanceTest[],
  deadline: number,
): Promise<SuiteRun> {
  let testsRun = 0;
  for (const [topologyId, group] of byTopology(tests)) {
    if (Date.now() > deadline) return { failed: null, testsRun, timedOut: true };
    const stage: Stage = await startStage(driver, target, topologyId, group);
    let failed: TestResult | null = null;
    try {
      for (const t of group) {
        if (Date.now() > deadline) return { failed: null, testsRun, timedOut: true };
        const r = await runTest(t, driver, stage, target);
        if (r.outcome === "skipped") continue;
        testsRun++;
        if (r.outcome === "failed") {
          failed = r;
          break;
        }
      }
    } finally {
      try {
        await stopStage(stage);
      } catch (err) {
        // A proxy's process guard caught a bug: the mutant is seen (unless a check saw it first).
        failed ??= {
          id: `(${topologyId} teardown)`,
          feature: group[0]?.feature ?? "round-robin",
          topology: topologyId,
          description: "the topology's teardown: every process's bug counter is 0",
          outcome: "failed",
          reason: (err as Error).message,
          durationMs: 0,
          measurements: {},
        };
      }
    }
    if (failed !== null) return { failed, testsRun, timedOut: false };
  }
  return { failed: null, testsRun, timedOut: false };
}

function baseOf(m: Mutant): BaseTarget {
  return m.target ?? "echomesh";
}

function firstLine(text: string | undefined): string {
  const line = (text ?? "").split("\n")[0] ?? "";
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

function selectTests(filter: string | undefined): ConformanceTest[] {
  return matching(allTests, (filter ?? "").split(","));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: "string" },
      tests: { type: "string" },
      "time-limit": { type: "string" },
      "no-control": { type: "boolean", default: false },
      check: { type: "boolean", default: false },
    },
  });
  const only = values.only
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = (only ?? []).filter((n) => !mutants.some((m) => m.name === n));
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown mutant(s): ${unknown.join(", ")}; known: ${mutants.map((m) => m.name).join(", ")}\n`,
    );
    return 2;
  }
  const names = new Set(mutants.map((m) => m.name));
  if (names.size !== mutants.length) throw new Error("two mutants share a name");
  const chosen = only ? mutants.filter((m) => only.includes(m.name)) : mutants;

  // Every mutant must apply to today's build: a stale one is an error, never a survivor.
  const stale: string[] = [];
  for (const m of mutants) {
    try {
      mutatedText(m, distDir);
    } catch (err) {
      if (!(err instanceof StaleMutant)) throw err;
      stale.push(err.message);
    }
  }
  if (stale.length > 0) {
    process.stderr.write(`stale mutants (their code changed):\n  ${stale.join("\n  ")}\n`);
    return 2;
  }
  if (values.check) {
    process.stdout.write(`${mutants.length} mutants apply to dist/\n`);
    return 0;
  }

  const limitMs = Number(values["time-limit"] ?? DEFAULT_TIME_LIMIT_S) * 1000;
  if (!(limitMs > 0))
    throw new Error(`--time-limit ${values["time-limit"]}: not a positive number of seconds`);
  const tests = selectTests(values.tests ?? process.env.ECHOMESH_TESTS);
  const driver = await processDriver("mutation testing runs the mutants as processes");
  const results: MutantResult[] = [];
  const started = Date.now();
  try {
    process.stdout.write(
      `[mutants] ${chosen.length} of ${mutants.length} mutants, ${tests.length} tests, process driver, ` +
        `time limit ${limitMs / 1000} s each\n`,
    );
    // The control: the unmutated copy passes on every target the chosen mutants run.
    const bases = values["no-control"] ? [] : [...new Set(chosen.map(baseOf))];
    for (const base of bases) {
      const root = copyTree("control");
      try {
        const t0 = Date.now();
        const run = await runSuite(
          driver,
          targetFor(root, base, "mutant-control", "unmutated copy"),
          tests,
          t0 + limitMs,
        );
        if (run.failed !== null || run.timedOut) {
          process.stdout.write(
            `[mutants] control (unmutated copy, ${base}) did not pass: ${run.failed ? `${run.failed.id}: ${firstLine(run.failed.reason)}` : "time limit"}\n`,
          );
          return 2;
        }
        process.stdout.write(
          `[mutants] control passed on ${base} (${run.testsRun} tests, ${((Date.now() - t0) / 1000).toFixed(1)} s)\n`,
        );
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }
    for (const m of chosen) {
      const root = copyTree(m.name);
      const t0 = Date.now();
      try {
        const file = join(root, "dist", compiledPath(m.file));
        writeFileSync(file, mutatedText(m, join(root, "dist")));
        const run = await runSuite(
          driver,
          targetFor(root, baseOf(m), `mutant-${m.name}`, m.description),
          tests,
          t0 + limitMs,
        );
        const outcome: Outcome =
          run.failed !== null
            ? "killed"
            : run.timedOut
              ? "time-limit"
              : m.equivalent
                ? "equivalent"
                : "survived";
        const r: MutantResult = {
          name: m.name,
          area: m.area,
          outcome,
          ...(run.failed ? { by: run.failed.id, reason: firstLine(run.failed.reason) } : {}),
          testsRun: run.testsRun,
          durationMs: Date.now() - t0,
        };
        results.push(r);
        process.stdout.write(`${line(r)}\n`);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }
  } finally {
    await driver.close();
  }

  const killed = results.filter((r) => r.outcome === "killed").length;
  const equivalent = results.filter((r) => r.outcome === "equivalent").length;
  const judged = results.length - equivalent;
  const score = judged === 0 ? 100 : (100 * killed) / judged;
  const notKilled = results.filter((r) => r.outcome === "survived" || r.outcome === "time-limit");
  process.stdout.write(
    `\nmutation score: ${killed}/${judged} killed (${score.toFixed(1)}%)` +
      `${equivalent > 0 ? `, ${equivalent} equivalent not counted` : ""}` +
      ` in ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
  );
  if (notKilled.length > 0)
    process.stdout.write(`not killed: ${notKilled.map((r) => `${r.name} (${r.outcome})`).join(", ")}\n`);
  const dir = fromRoot("conformance", "report");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "mutants.json"),
    `${JSON.stringify({ packageRoot, tests: tests.length, killed, judged, equivalent, score, results }, null, 2)}\n`,
  );
  return notKilled.length > 0 ? 1 : 0;
}

function line(r: MutantResult): string {
  const s = (r.durationMs / 1000).toFixed(1);
  const what =
    r.outcome === "killed"
      ? `by ${r.by}: ${r.reason}`
      : r.outcome === "time-limit"
        ? `time limit reached after ${r.testsRun} passing tests`
        : `${r.testsRun} tests passed`;
  return `${r.outcome.padEnd(10)} ${r.name.padEnd(36)} ${what} (${s} s)`;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`conformance:mutants: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 2;
  },
);
