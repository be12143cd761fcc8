#!/usr/bin/env node
/**
 * `echomesh-bench` (`npm run bench`): the echomesh load tests. Starts two echo backends and every
 * selected target once, then runs every scenario's targets interleaved (A B C, A B C) for the given
 * rounds, the load generator pinned to its own core, and writes loadtest/results/latest.{md,json,svg}
 * and a copy of the run in loadtest/results/runs/<time>/. Flags: ./options.ts (USAGE); method:
 * loadtest/README.md; exit codes: lib/cli.ts EXIT.
 */
import type { ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultOutputDir, EXIT, usageLine, versionLine } from "../lib/cli.js";
import { findEnvoy } from "../lib/envoy.js";
import { distDir } from "../lib/paths.js";
import { stopChild } from "../lib/process.js";
import { sleep } from "../lib/wait.js";
import { attackMain } from "./attack.js";
import { startBackends } from "./backends.js";
import { type ReportFiles, runIfMain, stopOnInterrupt, writeReport } from "./command.js";
import { h2loadPath } from "./load/h2load.js";
import { LoadWorker } from "./load/protocol.js";
import { type BenchOptions, parseBenchArgs, USAGE } from "./options.js";
import { cpuCount, defaultPinning, treeRssMb } from "./proc.js";
import { Progress } from "./progress.js";
import type { RunRecord } from "./record.js";
import { reloadMain } from "./reload.js";
import { markdownReport, type ReportMeta } from "./report/markdown.js";
import { svgChart } from "./report/svg.js";
import { runOne } from "./runner.js";
import { matches, SCENARIOS, type Scenario } from "./scenarios.js";
import { soakMain } from "./soak.js";
import { type Goal, goals, type Row, summarize, type VersusEnvoy, versusEnvoy } from "./summary.js";
import { TARGETS, targetByName } from "./targets/index.js";
import type { RunningTarget, TargetContext } from "./targets/types.js";

export interface BenchResult {
  runs: RunRecord[];
  rows: Row[];
  versus: VersusEnvoy[];
  goals: Goal[];
  markdown: string;
  /** latest.{md,json,svg} */
  files: ReportFiles;
  /** The same report kept in runs/<time>/bench.{md,json,svg}. */
  runFiles: ReportFiles;
}

/** `--only` matched no scenario or target: nothing runs and the last report stays (exit 3). */
export class NothingSelected extends Error {}

/** A selected run list: scenario -> targets, baseline first. */
function plan(opts: BenchOptions): Map<Scenario, string[]> {
  const out = new Map<Scenario, string[]>();
  for (const sc of SCENARIOS) {
    const picked = sc.targets.filter((t) => matches(opts.only, sc.name, t));
    if (picked.length === 0) continue;
    const baseline = sc.targets[0] as string;
    out.set(sc, picked.includes(baseline) ? picked : [baseline, ...picked]);
  }
  return out;
}

export async function runBench(
  opts: BenchOptions,
  log: (s: string) => void = (s) => process.stderr.write(s),
): Promise<BenchResult> {
  const outDir = opts.outDir ?? defaultOutputDir(["loadtest", "results"], "echomesh-bench");
  const selected = plan(opts);
  if (selected.size === 0) {
    throw new NothingSelected(
      `--only ${opts.only.join(",")} selects no scenario or target (--list shows them); nothing ran, ${outDir} is as it was`,
    );
  }
  const pinning = defaultPinning(opts.pin);
  const startedAt = new Date().toISOString();
  const envoy = envoyVersion();
  log(`Envoy: ${envoyFound()}\n`);
  const tmp = mkdtempSync(join(tmpdir(), "echomesh-bench-"));
  chmodSync(tmp, 0o755); // nginx workers run as nobody when started by root
  const backendChildren: ChildProcess[] = [];
  const running = new Map<string, RunningTarget>();
  const skipped: Record<string, string> = {};
  const idleRssMb: Record<string, number> = {};
  const runs: RunRecord[] = [];
  const worker = new LoadWorker(join(distDir, "loadtest/load/worker.js"), pinning?.load);

  const cleanup = async (): Promise<void> => {
    await worker.stop();
    await Promise.all([...running.values()].map((t) => t.stop()));
    running.clear();
    await Promise.all(backendChildren.map((c) => stopChild(c)));
    rmSync(tmp, { recursive: true, force: true });
  };
  const release = stopOnInterrupt("bench", log, cleanup);

  try {
    for (const sc of selected.keys()) {
      if ((sc.kind === "h2c" || sc.kind === "latency") && h2loadPath() === null) {
        skipped[`${sc.name} (scenario)`] = "h2load not installed (Debian: nghttp2-client)";
        selected.delete(sc);
      }
    }
    const backends = await startBackends(distDir, pinning?.servers, backendChildren);
    const ctx: TargetContext = { dist: distDir, tmp, cores: pinning?.servers, backends };
    const wanted = [...new Set([...selected.values()].flat())];
    // start every target at once (they are independent), keep the plan's order in `running`
    const started = await Promise.all(
      wanted.map(async (name): Promise<[string, RunningTarget | string]> => {
        const target = targetByName(name);
        const why = target.unavailable(ctx);
        if (why !== null) return [name, why];
        try {
          return [name, await target.start(ctx)];
        } catch (err) {
          return [name, `failed to start: ${err instanceof Error ? err.message : String(err)}`];
        }
      }),
    );
    for (const [name, t] of started) {
      if (typeof t === "string") skipped[name] = t;
      else running.set(name, t);
    }
    log(`started ${running.size} targets in ${((Date.now() - Date.parse(startedAt)) / 1000).toFixed(1)} s\n`);
    await sleep(1000);
    for (const [name, t] of running) idleRssMb[name] = treeRssMb(t.pids);

    const settings = {
      dist: distDir,
      tmp,
      durationS: opts.durationS,
      warmupS: opts.warmupS,
      connections: opts.connections,
      wsSockets: opts.wsSockets,
      loadCores: pinning?.load,
      backendPids: backends.echoPids,
      worker,
    };
    const perRound = [...selected.values()].reduce((a, ts) => a + ts.filter((t) => running.has(t)).length, 0);
    const progress = new Progress(perRound * opts.rounds, log);
    for (let round = 1; round <= opts.rounds; round++) {
      for (const [sc, targets] of selected) {
        for (const name of targets) {
          const target = running.get(name);
          if (target === undefined) continue;
          const label = `round ${round} ${sc.name}/${name}`;
          progress.start(label);
          const rec = await runOne(settings, sc, name, target, round);
          runs.push(rec);
          progress.finish(label, outcome(rec));
        }
      }
    }
  } finally {
    const stopping = Date.now();
    await cleanup();
    log(`stopped everything in ${((Date.now() - stopping) / 1000).toFixed(1)} s\n`);
    release();
  }

  const scenarios = SCENARIOS.filter((s) => runs.some((r) => r.scenario === s.name));
  const rows = summarize(scenarios, runs);
  const versus = versusEnvoy(scenarios, runs, rows);
  const meta: ReportMeta = {
    startedAt,
    finishedAt: new Date().toISOString(),
    node: process.version,
    envoy,
    cpus: cpuCount(),
    durationS: opts.durationS,
    warmupS: opts.warmupS,
    rounds: opts.rounds,
    connections: opts.connections,
    wsSockets: opts.wsSockets,
    pinning: pinning
      ? `load generator on core ${pinning.load}, servers on core(s) ${pinning.servers} (taskset)`
      : "not pinned",
    idleRssMb,
    skipped,
  };
  const checked = goals(rows, idleRssMb);
  const markdown = markdownReport(meta, scenarios, rows, checked, versus);
  const report = {
    markdown,
    data: { meta, runs, summary: rows, versusEnvoy: versus, goals: checked },
    svg: svgChart(rows, { date: startedAt, mode: mode(opts) }),
  };
  const files = writeReport(outDir, "latest", report);
  const runFiles = writeReport(join(outDir, "runs", runName(startedAt)), "bench", report);
  return { runs, rows, versus, goals: checked, markdown, files, runFiles };
}

/** A run's folder name: its start time, `2026-12-02T13-40-05Z` (no colons, sorts by time). */
export function runName(startedAt: string): string {
  return startedAt.replaceAll(":", "-").replace(/\.\d+Z$/, "Z");
}

/** The run's settings in a few words, for the chart. */
function mode(o: BenchOptions): string {
  const kind = o.quick ? "quick" : o.only.length > 0 ? `only ${o.only.join(",")}` : "full";
  return `${kind}: ${o.rounds} round(s) of ${o.durationS} s`;
}

/** The goals a run measured and missed (`met: false`; goals not measured are not counted). */
export function missedGoals(checked: readonly Goal[]): Goal[] {
  return checked.filter((g) => g.met === false);
}

/** The Envoy the `envoy*` targets run, for the report: "1.40.0", or why there is none. */
function envoyVersion(): string {
  const e = findEnvoy();
  return e.found ? e.version : `not found (${e.reason})`;
}

/** The same, with where the binary is, for the log and `--list`. */
function envoyFound(): string {
  const e = findEnvoy();
  return e.found ? `${e.version} from ${e.from}: ${e.path}` : `not found: ${e.reason}`;
}

function outcome(r: RunRecord): string {
  if (r.failure !== undefined) return `FAILED (${r.failure.slice(0, 120)})`;
  if (r.requestsPerSec === null)
    return `${r.alive}/${r.opened} sockets alive, ${r.rssMb?.toFixed(0)} MiB, ${r.errors} errors`;
  const cpu = r.cpuUsPerRequest === null ? "" : `, ${r.cpuUsPerRequest.toFixed(0)} µs/req CPU`;
  return `${Math.round(r.requestsPerSec).toLocaleString("en-US")}/s, p99 ${r.latencyP99Ms?.toFixed(2)} ms, ${r.errors} errors${cpu}`;
}

function listTargets(): void {
  const ctx: TargetContext = {
    dist: distDir,
    tmp: tmpdir(),
    cores: undefined,
    backends: { echo: [0, 0], echoPids: [0, 0] },
  };
  process.stdout.write("Scenarios:\n");
  for (const s of SCENARIOS)
    process.stdout.write(
      `  ${s.name.padEnd(10)} ${s.description}\n             targets: ${s.targets.join(", ")}\n`,
    );
  process.stdout.write(`Envoy (the envoy* targets): ${envoyFound()}\nTargets:\n`);
  for (const t of TARGETS) {
    const why = t.unavailable(ctx);
    process.stdout.write(
      `  ${t.name.padEnd(20)} ${why === null ? "" : `[unavailable: ${why}] `}${t.description}\n`,
    );
  }
}

/** `--scenario attack|soak|reload`: the runs that are not throughput rounds, each with its own flags. */
const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  attack: attackMain,
  soak: soakMain,
  reload: reloadMain,
};

const BIN = "echomesh-bench";

async function benchMain(argv: string[]): Promise<number> {
  const at = argv.indexOf("--scenario");
  if (at >= 0) {
    const name = argv[at + 1] ?? "";
    const command = COMMANDS[name];
    if (command === undefined) {
      const expected = Object.keys(COMMANDS).join(", ");
      process.stderr.write(
        usageLine(BIN, `--scenario must be one of ${expected} (got ${name || "nothing"})`),
      );
      return EXIT.usage;
    }
    return command([...argv.slice(0, at), ...argv.slice(at + 2)]);
  }
  let opts: BenchOptions;
  try {
    opts = parseBenchArgs(argv);
  } catch (err) {
    process.stderr.write(usageLine(BIN, (err as Error).message));
    return EXIT.usage;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (opts.version) {
    process.stdout.write(`${versionLine(BIN)}\n`);
    return EXIT.ok;
  }
  if (opts.list) {
    listTargets();
    return EXIT.ok;
  }
  let result: BenchResult;
  try {
    result = await runBench(opts);
  } catch (err) {
    if (!(err instanceof NothingSelected)) throw err;
    process.stderr.write(`${BIN}: ${err.message}\n`);
    return EXIT.unavailable;
  }
  process.stdout.write(`\n${result.markdown}\n`);
  process.stderr.write(
    `wrote ${[...Object.values(result.files), ...Object.values(result.runFiles)].join(", ")}\n`,
  );
  const missed = missedGoals(result.goals);
  if (opts.failOnGoals && missed.length > 0) {
    process.stderr.write(
      `${BIN}: --fail-on-goals: ${missed.length} goal(s) missed:\n${missed.map((g) => `  #${g.issue} ${g.goal}: ${g.value}\n`).join("")}`,
    );
    return EXIT.failure;
  }
  return EXIT.ok;
}

runIfMain("bench", benchMain);
