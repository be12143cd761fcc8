/**
 * h2load (nghttp2) runs, pinned to the load core: h2c prior knowledge with many streams, or HTTP/1.1
 * one request at a time for unloaded latency. Percentiles come from --log-file (µs resolution).
 */
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { taskset, which } from "../proc.js";

export interface H2loadRun {
  url: string;
  h1: boolean;
  connections: number;
  streams: number;
  durationS: number;
  logDir: string;
  cores: string | undefined;
}

export interface H2loadResult {
  requests: number;
  requestsPerSec: number;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  latencyMaxMs: number | null;
  errors: number;
  non2xx: number;
}

export const h2loadPath = (): string | null => which("h2load");

function run(file: string, args: string[], cores: string | undefined, timeoutMs: number): Promise<string> {
  const ts = cores !== undefined ? taskset() : null;
  const [cmd, argv] = ts !== null ? [ts, ["-c", cores as string, file, ...args]] : [file, args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
    });
    child.stderr.resume();
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // "close", not "exit": stdout may still hold the summary when the process has exited
    child.once("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/** Runs h2load for `durationS` (plus its connection setup); `onStart`/`onEnd` bound the window. */
export async function h2load(opts: H2loadRun, onStart: () => void, onEnd: () => void): Promise<H2loadResult> {
  const bin = h2loadPath();
  if (bin === null) throw new Error("h2load not installed");
  const log = join(opts.logDir, `h2load-${process.pid}-${Date.now()}.log`);
  const args = [
    "-c",
    String(opts.connections),
    "-m",
    String(opts.streams),
    "-D", // whole seconds only
    String(Math.max(1, Math.round(opts.durationS))),
    `--log-file=${log}`,
    ...(opts.h1 ? ["--h1"] : []),
    `${opts.url}/`,
  ];
  onStart();
  const out = await run(bin, args, opts.cores, (opts.durationS + 30) * 1000);
  onEnd();
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? 0);
  const latencies: number[] = [];
  try {
    for (const line of readFileSync(log, "utf8").split("\n")) {
      const us = Number(line.split("\t")[2]);
      if (Number.isFinite(us) && line !== "") latencies.push(us / 1000);
    }
  } catch {
    // no log: no percentiles
  } finally {
    rmSync(log, { force: true });
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number | null =>
    latencies.length === 0
      ? null
      : (latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] as number);
  const done = num(/requests: \d+ total, \d+ started, (\d+) done/);
  if (!/finished in/.test(out)) throw new Error(`h2load gave no summary: ${out.trim().slice(-300)}`);
  const seconds = num(/finished in ([\d.]+)s/) || opts.durationS;
  const ok2xx = num(/status codes: (\d+) 2xx/);
  return {
    requests: done,
    requestsPerSec: num(/finished in [\d.]+s, ([\d.]+) req\/s/) || done / seconds,
    latencyP50Ms: pct(50),
    latencyP99Ms: pct(99),
    latencyMaxMs: latencies.length > 0 ? (latencies[latencies.length - 1] as number) : null,
    errors: num(/(\d+) errored/) + num(/(\d+) timeout/) + (opts.h1 ? 0 : num(/(\d+) failed/)),
    non2xx: Math.max(0, done - ok2xx),
  };
}
