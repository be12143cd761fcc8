/**
 * What the attack harness watches while an attack runs: a probe client sending one GET at a time on
 * fresh connections (what any other user of the proxy sees), the proxy's fds sampled from /proc and
 * its peak RSS (VmHWM), and the counting upstream's figures.
 */
import { readdirSync, readFileSync } from "node:fs";
import { request } from "../../lib/http_client.js";
import { sleep } from "../../lib/wait.js";
import { processTree } from "../proc.js";
import type { UpstreamStats } from "./upstream.js";

export interface ProbeStats {
  ok: number;
  failed: number;
  p50Ms: number | null;
  maxMs: number | null;
  /** The first failure's message. */
  firstError: string | null;
  /** When the last failure ended, in ms after the attacker left (negative: before), or null. */
  failingUntilMs: number | null;
}

/**
 * One `GET /probe` at a time on a fresh connection, `gapMs` apart, each failing after `timeoutMs` idle
 * (the upstream answers it at once and counts the connections opened for it apart).
 */
export class Probe {
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  private readonly latencies: number[] = [];
  private failed = 0;
  private firstError: string | null = null;
  private lastFailureAt: number | null = null;
  /** Successes in a row since the last failure. */
  streak = 0;

  constructor(
    private readonly port: number,
    private readonly timeoutMs = 5000,
    private readonly gapMs = 20,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const t0 = performance.now();
      try {
        const r = await request(this.port, "/probe", { timeoutMs: this.timeoutMs });
        if (r.status !== 200) throw new Error(`status ${r.status}`);
        this.latencies.push(performance.now() - t0);
        this.streak++;
      } catch (err) {
        this.failed++;
        this.streak = 0;
        this.lastFailureAt = Date.now();
        this.firstError ??= err instanceof Error ? err.message : String(err);
      }
      await sleep(this.gapMs);
    }
  }

  /** Stops after the GET in flight; `leftAt` is when the attacker left (Date.now()). */
  async stop(leftAt: number): Promise<ProbeStats> {
    this.running = false;
    await this.loop;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return {
      ok: sorted.length,
      failed: this.failed,
      p50Ms: sorted.length === 0 ? null : (sorted[Math.floor(sorted.length / 2)] as number),
      maxMs: sorted.length === 0 ? null : (sorted[sorted.length - 1] as number),
      firstError: this.firstError,
      failingUntilMs: this.lastFailureAt === null ? null : this.lastFailureAt - leftAt,
    };
  }
}

/** A process tree's open fds, sampled every `everyMs` while running; `peak` is the largest seen. */
export class FdSampler {
  peak = 0;
  private readonly pids: number[];
  private readonly timer: NodeJS.Timeout;

  constructor(roots: number[], everyMs = 250) {
    this.pids = processTree(roots); // a fixed tree: no /proc scan per sample
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  now(): number {
    let n = 0;
    for (const pid of this.pids) {
      try {
        n += readdirSync(`/proc/${pid}/fd`).length;
      } catch {
        // exited
      }
    }
    return n;
  }

  private sample(): void {
    this.peak = Math.max(this.peak, this.now());
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}

/** VmRSS and VmHWM (peak resident size since the process started) of a process tree, MiB. */
export function rssAndPeakMb(roots: number[]): { rssMb: number; peakMb: number } {
  let rss = 0;
  let hwm = 0;
  for (const pid of processTree(roots)) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      rss += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      hwm += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // exited
    }
  }
  return { rssMb: rss / 1024, peakMb: hwm / 1024 };
}

/** The counting upstream's figures; `reset` restarts its peak of concurrent requests. */
export async function upstreamStats(statsPort: number, reset = false): Promise<UpstreamStats> {
  const r = await request(statsPort, reset ? "/?reset=1" : "/", { timeoutMs: 5000 });
  return JSON.parse(r.text) as UpstreamStats;
}
