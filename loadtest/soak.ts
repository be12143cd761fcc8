#!/usr/bin/env node
/**
 * `npm run bench -- --scenario soak` (or `node dist/loadtest/soak.js`): mixed traffic (GET, POST,
 * WebSocket, h2c, client and upstream resets; soak/traffic.ts) through the mesh for 30 minutes by
 * default, the RSS and fds of every proxy and echo process sampled every 10 s, plotted, and a verdict:
 * flat when, for every process, the mean RSS of the soak's last third is within 10 % of its first
 * third, and the fds after the traffic stopped are back to the idle baseline taken after the warm-up
 * (within 5 or 10 %, whichever is larger: pools may keep a few more idle connections). Not in CI.
 * Writes loadtest/results/soak.{md,json,svg}.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { defaultOutputDir } from "../lib/cli.js";
import { distDir } from "../lib/paths.js";
import { stopChild } from "../lib/process.js";
import { startBackends } from "./backends.js";
import {
  COMMON_FLAGS,
  type CommonOptions,
  commandMain,
  commonOptions,
  numberFlag as num,
  type ReportFiles,
  runIfMain,
  stopOnInterrupt,
  writeReport,
} from "./command.js";
import { LoadWorker } from "./load/protocol.js";
import { defaultPinning, processTree } from "./proc.js";
import { lineChart } from "./report/lines.js";
import type { SoakJob, SoakTraffic } from "./soak/traffic.js";
import { targetByName } from "./targets/index.js";
import type { RunningTarget, TargetContext } from "./targets/types.js";

export interface SoakOptions extends CommonOptions {
  durationS: number;
  warmupS: number;
  sampleS: number;
  settleS: number;
  rate: number;
  target: string;
  /** Compiled tree the target's processes run from (the echoes and the traffic: this checkout's). */
  dist: string;
}

export const SOAK_USAGE = `Usage: npm run bench -- --scenario soak [options]   (or: node dist/loadtest/soak.js [options])

  --duration S     seconds of soak (default 1800)
  --warmup S       traffic before the idle baseline (default: duration / 10, at most 60)
  --sample S       seconds between samples of RSS and fds (default 10)
  --settle S       quiet seconds before the baseline and the end sample (default 3)
  --rate N         operations per second (default 100)
  --target NAME    a bench target (default echomesh-mesh; e.g. envoy-mesh)
  --dist DIR       our proxy's compiled tree (default dist)
  --no-pin         do not pin the traffic / servers with taskset
  --out DIR        where soak.{md,json,svg} go (default loadtest/results)
  -h, --help       this text
`;

export function parseSoakArgs(argv: string[]): SoakOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: "string" },
      warmup: { type: "string" },
      sample: { type: "string" },
      settle: { type: "string" },
      rate: { type: "string" },
      target: { type: "string" },
      dist: { type: "string" },
      ...COMMON_FLAGS,
    },
  });
  const durationS = num("duration", values.duration, 1800, 1);
  return {
    durationS,
    warmupS: num("warmup", values.warmup, Math.min(60, durationS / 10), 0),
    sampleS: num("sample", values.sample, 10, 0.2),
    settleS: num("settle", values.settle, 3, 0),
    rate: num("rate", values.rate, 100, 1),
    target: values.target ?? "echomesh-mesh",
    dist: values.dist === undefined ? distDir : resolve(values.dist),
    ...commonOptions(values),
  };
}

/** One sample of one process (its tree: children included). */
export interface Sample {
  t: number;
  rssMb: number;
  fds: number;
}

export interface ProcessSoak {
  name: string;
  pid: number;
  samples: Sample[];
  /** fds and RSS idle after the warm-up, and idle after the soak. */
  baseline: Sample;
  end: Sample;
  rssFirstThirdMb: number;
  rssLastThirdMb: number;
  /** rssLastThirdMb / rssFirstThirdMb - 1 */
  rssGrowth: number;
  flat: boolean;
  why: string[];
}

export interface SoakReport {
  meta: { startedAt: string; node: string; pinning: string; options: SoakOptions };
  processes: ProcessSoak[];
  traffic: SoakTraffic;
  verdict: "flat" | "not flat";
}

function sample(pid: number, t: number): Sample {
  let kb = 0;
  let fds = 0;
  for (const p of processTree([pid])) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, "utf8"))?.[1] ?? 0);
      fds += readdirSync(`/proc/${p}/fd`).length;
    } catch {
      // exited
    }
  }
  return { t, rssMb: kb / 1024, fds };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** The verdict for one process: RSS last third vs first third, fds at the end vs the baseline. */
export function judge(
  name: string,
  pid: number,
  samples: Sample[],
  baseline: Sample,
  end: Sample,
): ProcessSoak {
  const third = Math.max(1, Math.floor(samples.length / 3));
  const first = mean(samples.slice(0, third).map((s) => s.rssMb));
  const last = mean(samples.slice(-third).map((s) => s.rssMb));
  const growth = first > 0 ? last / first - 1 : 0;
  const why: string[] = [];
  if (growth > 0.1) why.push(`RSS +${(growth * 100).toFixed(1)} % (last third vs first)`);
  const fdSlack = Math.max(5, Math.ceil(baseline.fds * 0.1));
  if (end.fds > baseline.fds + fdSlack)
    why.push(`fds ${baseline.fds} -> ${end.fds} after the traffic stopped`);
  return {
    name,
    pid,
    samples,
    baseline,
    end,
    rssFirstThirdMb: first,
    rssLastThirdMb: last,
    rssGrowth: growth,
    flat: why.length === 0,
    why,
  };
}

/** Names of a target's processes: a mesh is started as sidecar1, sidecar2, front (targets/proxy_family.ts). */
function processNames(target: RunningTarget): string[] {
  if (target.pids.length === 3) return ["sidecar1", "sidecar2", "front"];
  return target.pids.map((_, i) => (i === 0 ? "proxy" : `proxy${i + 1}`));
}

export async function runSoak(
  o: SoakOptions,
  log: (s: string) => void = (s) => process.stderr.write(s),
): Promise<{ report: SoakReport; markdown: string; files: ReportFiles }> {
  const startedAt = new Date().toISOString();
  const pinning = defaultPinning(o.pin);
  const tmp = mkdtempSync(join(tmpdir(), "echomesh-soak-"));
  const echoes: ChildProcess[] = [];
  const worker = new LoadWorker(join(distDir, "loadtest/soak/worker.js"), pinning?.load);
  let target: RunningTarget | null = null;
  let timer: NodeJS.Timeout | undefined;
  const cleanup = async (): Promise<void> => {
    clearInterval(timer);
    await worker.stop();
    await target?.stop();
    await Promise.all(echoes.map((c) => stopChild(c)));
    rmSync(tmp, { recursive: true, force: true });
  };
  const release = stopOnInterrupt("soak", log, cleanup);

  let processes: ProcessSoak[];
  let traffic: SoakTraffic;
  try {
    const backends = await startBackends(distDir, pinning?.servers, echoes);
    const ctx: TargetContext = { dist: o.dist, tmp, cores: pinning?.servers, backends };
    target = await targetByName(o.target).start(ctx);
    const watched = [
      ...processNames(target).map((name, i) => ({ name, pid: target?.pids[i] as number })),
      { name: "echo1", pid: backends.echoPids[0] },
      { name: "echo2", pid: backends.echoPids[1] },
    ];
    const port = Number(new URL(target.url).port);
    const samples = watched.map((): Sample[] => []);
    let baseline: Sample[] = [];
    let end: Sample[] = [];
    let t0 = 0;
    const take = (): void => {
      const t = (Date.now() - t0) / 1000;
      for (const [i, w] of watched.entries()) samples[i]?.push(sample(w.pid, t));
      log(
        `${t.toFixed(0).padStart(5)} s  ${watched.map((w, i) => `${w.name} ${samples[i]?.at(-1)?.rssMb.toFixed(0)} MiB/${samples[i]?.at(-1)?.fds} fds`).join("  ")}\n`,
      );
    };
    const job: SoakJob = {
      port,
      rate: o.rate,
      warmupS: o.warmupS,
      durationS: o.durationS,
      settleS: o.settleS,
    };
    log(
      `soak: ${o.target} for ${o.durationS} s at ${o.rate} ops/s (warm-up ${o.warmupS} s), sampling every ${o.sampleS} s\n`,
    );
    traffic = await worker.run<SoakTraffic>(
      job,
      (name) => {
        if (name === "baseline") baseline = watched.map((w) => sample(w.pid, 0));
        else if (name === "start") {
          t0 = Date.now();
          take();
          timer = setInterval(take, o.sampleS * 1000);
        } else if (name === "stopped") {
          clearInterval(timer);
          // the traffic's last state, unless the timer has just sampled it
          if ((Date.now() - t0) / 1000 - (samples[0]?.at(-1)?.t ?? 0) > o.sampleS / 2) take();
        } else end = watched.map((w) => sample(w.pid, (Date.now() - t0) / 1000));
      },
      (o.warmupS + o.durationS + 2 * o.settleS + 120) * 1000,
    );
    processes = watched.map((w, i) =>
      judge(w.name, w.pid, samples[i] ?? [], baseline[i] as Sample, end[i] as Sample),
    );
  } finally {
    await cleanup();
    release();
  }

  const report: SoakReport = {
    meta: {
      startedAt,
      node: process.version,
      pinning: pinning
        ? `traffic on core ${pinning.load}, proxies and echoes on core(s) ${pinning.servers} (taskset)`
        : "not pinned",
      options: o,
    },
    processes,
    traffic,
    verdict: processes.every((p) => p.flat) ? "flat" : "not flat",
  };
  const markdown = soakMarkdown(report);
  const outDir = o.outDir ?? defaultOutputDir(["loadtest", "results"], "echomesh-bench");
  const files = writeReport(outDir, "soak", { markdown, data: report, svg: soakSvg(report) });
  return { report, markdown, files };
}

export function soakSvg(r: SoakReport): string {
  const series = (value: (s: Sample) => number) =>
    r.processes.map((p) => ({
      name: p.name,
      points: p.samples.map((s): [number, number] => [s.t, value(s)]),
    }));
  return lineChart(
    `echomesh soak: ${r.meta.options.target}, ${r.verdict}`,
    `${r.meta.startedAt} · ${r.meta.options.durationS} s at ${r.meta.options.rate} ops/s · sampled every ${r.meta.options.sampleS} s`,
    [
      { title: "RSS", unit: "MiB", series: series((s) => s.rssMb) },
      { title: "open file descriptors", unit: "fds", series: series((s) => s.fds) },
    ],
  );
}

export function soakMarkdown(r: SoakReport): string {
  const o = r.meta.options;
  const out = [
    `# Soak: ${o.target}, ${r.verdict}`,
    "",
    `${r.meta.startedAt} · Node ${r.meta.node} · ${o.durationS} s at ${o.rate} ops/s after ${o.warmupS} s of warm-up · sampled every ${o.sampleS} s · ${r.meta.pinning}`,
    "",
    "Flat: the mean RSS of the soak's last third within 10 % of its first third, and the fds once the",
    "traffic stopped back to the idle baseline after the warm-up (within 5 or 10 %).",
    "",
    "| process | RSS first third → last third MiB | growth | RSS min / max MiB | fds baseline → max → end | verdict |",
    "|---|---:|---:|---:|---:|---|",
  ];
  for (const p of r.processes) {
    const rss = p.samples.map((s) => s.rssMb);
    const fdsMax = Math.max(...p.samples.map((s) => s.fds));
    out.push(
      `| ${p.name} | ${p.rssFirstThirdMb.toFixed(1)} → ${p.rssLastThirdMb.toFixed(1)} | ${(p.rssGrowth * 100).toFixed(1)} % | ${Math.min(...rss).toFixed(1)} / ${Math.max(...rss).toFixed(1)} | ${p.baseline.fds} → ${fdsMax} → ${p.end.fds} | ${p.flat ? "flat" : p.why.join("; ")} |`,
    );
  }
  out.push(
    "",
    `Traffic (${r.traffic.seconds.toFixed(0)} s, ${r.traffic.skipped} operations skipped at 256 in flight):`,
    "",
    "| operation | ok | failed | first failure |",
    "|---|---:|---:|---|",
  );
  for (const [kind, t] of Object.entries(r.traffic.ops))
    out.push(
      `| ${kind} | ${t.ok.toLocaleString("en-US")} | ${t.failed} | ${t.firstError?.replace(/\|/g, "/") ?? ""} |`,
    );
  out.push("");
  return out.join("\n");
}

export function soakMain(argv: string[]): Promise<number> {
  return commandMain({ name: "soak", usage: SOAK_USAGE, parse: parseSoakArgs, run: runSoak }, argv);
}

runIfMain("soak", soakMain);
