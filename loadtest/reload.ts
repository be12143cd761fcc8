#!/usr/bin/env node
/**
 * `npm run bench -- --scenario reload` (or `node dist/loadtest/reload.js`): a steady load through
 * each reloadable target (reload/targets.ts) for `--duration` seconds while its cluster is switched
 * `--reloads` times between two echo sets that share one echo ({echo1, echo2} and {echo2, echo3}:
 * every reload adds an instance and removes another). Per target: requests per second, errors
 * (non-2xx, socket errors, timeouts), latency p99 and max, and the max latency and errors within 1 s
 * after a reload. Not part of `--quick` (a reload run is 30 s per target by default); `--duration 6
 * --reloads 2` is a short one. Writes loadtest/results/reload.{md,json}.
 */
import type { ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { defaultOutputDir } from "../lib/cli.js";
import { findEnvoy } from "../lib/envoy.js";
import { request } from "../lib/http_client.js";
import { freePort, waitForPort } from "../lib/net.js";
import { distDir } from "../lib/paths.js";
import { stopChild } from "../lib/process.js";
import { sleep } from "../lib/wait.js";
import {
  COMMON_FLAGS,
  type CommonOptions,
  commandMain,
  commonOptions,
  countFlag as int,
  numberFlag as num,
  type ReportFiles,
  runIfMain,
  stopOnInterrupt,
  writeReport,
} from "./command.js";
import { defaultPinning, spawnPinned, stderrTail } from "./proc.js";
import { RELOAD_TARGETS, type ReloadContext, type ReloadTarget } from "./reload/targets.js";

export interface ReloadOptions extends CommonOptions {
  durationS: number;
  reloads: number;
  connections: number;
  /** Requests per second over all connections; null: as fast as the target answers. */
  rate: number | null;
  only: string[];
}

export const RELOAD_USAGE = `Usage: npm run bench -- --scenario reload [options]   (or: node dist/loadtest/reload.js [options])

  --duration S       seconds of load per target (default 30)
  --reloads N        reloads during the load, evenly spaced (default 10)
  --connections N    autocannon connections (default 10)
  --rate N           requests per second over all connections (default: as fast as answered)
  --only NAMES       targets, comma-separated (default all: ${RELOAD_TARGETS.map((t) => t.name).join(", ")})
  --no-pin           do not pin the proxies and echoes with taskset
  --out DIR          where reload.{md,json} go (default loadtest/results)
  -h, --help         this text
`;

export function parseReloadArgs(argv: string[]): ReloadOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: "string" },
      reloads: { type: "string" },
      connections: { type: "string" },
      rate: { type: "string" },
      only: { type: "string", multiple: true },
      ...COMMON_FLAGS,
    },
  });
  const only = (values.only ?? []).flatMap((o) => o.split(",")).filter((o) => o !== "");
  for (const name of only)
    if (!RELOAD_TARGETS.some((t) => t.name === name))
      throw new Error(`--only: no target ${name} (${RELOAD_TARGETS.map((t) => t.name).join(", ")})`);
  return {
    durationS: num("duration", values.duration, 30, 1),
    reloads: int("reloads", values.reloads, 10),
    connections: int("connections", values.connections, 10),
    rate: values.rate === undefined ? null : int("rate", values.rate, 1),
    only,
    ...commonOptions(values),
  };
}

/** One target's run. */
export interface ReloadRun {
  target: string;
  /** Why the run could not be made (the rest is then empty). */
  failure?: string;
  requests: number;
  requestsPerSec: number | null;
  /** non2xx + socket errors + timeouts. */
  errors: number;
  non2xx: number;
  socketErrors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  latencyP99Ms: number | null;
  latencyMaxMs: number | null;
  /** Over the windows of 1 s after each reload: the slowest response, and the errors. */
  maxLatencyAfterReloadMs: number | null;
  errorsAfterReload: number;
  /** When each reload was sent, in ms from the start of the load. */
  reloadAtMs: number[];
  /** `GET /` answered by echo1, echo2, echo3 during the run (their /metrics): the reloads took effect. */
  perEcho: number[];
}

/** `GET /` requests an echo has answered (`echo_requests_total{route="/"}` summed over its labels). */
async function answered(port: number): Promise<number> {
  const text = (await request(port, "/metrics", { timeoutMs: 5000 })).text;
  let total = 0;
  for (const line of text.split("\n"))
    if (line.startsWith("echo_requests_total{") && line.includes('route="/"'))
      total += Number(line.slice(line.lastIndexOf(" ") + 1)) || 0;
  return total;
}

/** Starts three echo services (pinned with the servers); their ports. */
async function startEchoes(
  dist: string,
  cores: string | undefined,
  children: ChildProcess[],
): Promise<number[]> {
  const ports: number[] = [];
  for (const instance of ["echo1", "echo2", "echo3"]) {
    const port = await freePort();
    const child = spawnPinned(
      process.execPath,
      [join(dist, "echo/main.js"), "--port", String(port), "--host", "127.0.0.1", "--no-access-log"],
      { cores, env: { ...process.env, INSTANCE: instance, ACCESS_LOG: "off" } },
    );
    children.push(child);
    await waitForPort(port, { timeoutMs: 20_000, child, describeExit: () => stderrTail(child) });
    ports.push(port);
  }
  return ports;
}

const EMPTY: Omit<ReloadRun, "target"> = {
  requests: 0,
  requestsPerSec: null,
  errors: 0,
  non2xx: 0,
  socketErrors: 0,
  timeouts: 0,
  statusCodes: {},
  latencyP99Ms: null,
  latencyMaxMs: null,
  maxLatencyAfterReloadMs: null,
  errorsAfterReload: 0,
  reloadAtMs: [],
  perEcho: [],
};

/** What happened in the second after a reload. */
const AFTER_RELOAD_MS = 1000;

async function runTarget(
  o: ReloadOptions,
  ctx: ReloadContext,
  target: ReloadTarget,
  sets: [number[], number[]],
  echoPorts: number[],
): Promise<ReloadRun> {
  const why = target.unavailable();
  if (why !== null) return { target: target.name, ...EMPTY, failure: `unavailable: ${why}` };
  let running: Awaited<ReturnType<ReloadTarget["start"]>>;
  try {
    running = await target.start(ctx, sets[0]);
  } catch (err) {
    return {
      target: target.name,
      ...EMPTY,
      failure: `failed to start: ${(err as Error).message.slice(0, 300)}`,
    };
  }
  try {
    const durationMs = o.durationS * 1000;
    const reloadAtMs: number[] = [];
    const after = { maxLatency: 0, errors: 0 };
    const inWindow = (now: number): boolean =>
      reloadAtMs.some((at) => now >= at && now < at + AFTER_RELOAD_MS);
    const servedBefore = await Promise.all(echoPorts.map(answered));
    const started = Date.now();
    const timers: NodeJS.Timeout[] = [];
    for (let i = 0; i < o.reloads; i++) {
      const at = ((i + 0.5) * durationMs) / o.reloads;
      timers.push(
        setTimeout(() => {
          reloadAtMs.push(Date.now() - started);
          void running.reload(sets[(i + 1) % 2] as number[]);
        }, at),
      );
    }
    let settle: (r: autocannon.Result) => void = () => {};
    let fail: (err: Error) => void = () => {};
    const done = new Promise<autocannon.Result>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    const instance = autocannon(
      {
        url: `${running.url}/`,
        connections: o.connections,
        pipelining: 1,
        duration: o.durationS,
        ...(o.rate === null ? {} : { overallRate: o.rate }),
      },
      (err, result) => (err ? fail(err) : settle(result)),
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (!inWindow(Date.now() - started)) return;
      after.maxLatency = Math.max(after.maxLatency, responseTime);
      if (statusCode < 200 || statusCode > 299) after.errors++;
    });
    instance.on("reqError", () => {
      if (inWindow(Date.now() - started)) after.errors++;
    });
    const r = await done;
    for (const t of timers) clearTimeout(t);
    const seconds = (Date.now() - started) / 1000;
    const servedAfter = await Promise.all(echoPorts.map(answered));
    return {
      target: target.name,
      requests: r.requests.total,
      requestsPerSec: r.requests.total / seconds,
      errors: r.errors + r.timeouts + r.non2xx,
      non2xx: r.non2xx,
      socketErrors: r.errors,
      timeouts: r.timeouts,
      statusCodes: Object.fromEntries(
        Object.entries(r.statusCodeStats ?? {}).map(([code, v]) => [code, (v as { count: number }).count]),
      ),
      latencyP99Ms: r.latency.p99,
      latencyMaxMs: r.latency.max,
      maxLatencyAfterReloadMs: reloadAtMs.length > 0 ? after.maxLatency : null,
      errorsAfterReload: after.errors,
      reloadAtMs,
      perEcho: servedAfter.map((n, i) => n - (servedBefore[i] ?? 0)),
    };
  } finally {
    await running.stop();
  }
}

const fmt = (v: number | null, digits = 0): string => (v === null ? "-" : v.toFixed(digits));

export function reloadMarkdown(
  o: ReloadOptions,
  envoy: string,
  runs: ReloadRun[],
  startedAt: string,
): string {
  const lines = [
    "# Reload under load",
    "",
    `${startedAt}, Node ${process.version}, Envoy ${envoy}. ${o.durationS} s of autocannon (${o.connections} connections,` +
      ` ${o.rate === null ? "as fast as answered" : `${o.rate} req/s`}) per target, ${o.reloads} reloads evenly spaced,` +
      " each switching the cluster between {echo1, echo2} and {echo2, echo3}. Errors = non-2xx + socket errors + timeouts;" +
      ` "after reload": responses that completed within ${AFTER_RELOAD_MS / 1000} s after a reload was sent.`,
    "",
    "| target | req/s | requests | errors | non-2xx | socket errors | timeouts | p99 ms | max ms | max ms after reload | errors after reload | answered by echo1 / echo2 / echo3 |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const r of runs) {
    if (r.failure !== undefined) {
      lines.push(
        `| ${r.target} | ${r.failure.replace(/\|/g, "/").replace(/\n/g, " ")} | | | | | | | | | | |`,
      );
      continue;
    }
    lines.push(
      `| ${r.target} | ${fmt(r.requestsPerSec)} | ${r.requests} | ${r.errors} | ${r.non2xx} | ${r.socketErrors} |` +
        ` ${r.timeouts} | ${fmt(r.latencyP99Ms, 1)} | ${fmt(r.latencyMaxMs, 1)} | ${fmt(r.maxLatencyAfterReloadMs, 1)} |` +
        ` ${r.errorsAfterReload} | ${r.perEcho.join(" / ")} |`,
    );
  }
  const codes = runs.filter((r) => r.non2xx > 0);
  if (codes.length > 0) {
    lines.push("", "Status codes of runs with non-2xx answers:");
    for (const r of codes) lines.push(`- ${r.target}: ${JSON.stringify(r.statusCodes)}`);
  }
  return `${lines.join("\n")}\n`;
}

export async function runReload(
  o: ReloadOptions,
  log: (s: string) => void = (s) => process.stderr.write(s),
): Promise<{ runs: ReloadRun[]; markdown: string; files: ReportFiles }> {
  const startedAt = new Date().toISOString();
  const found = findEnvoy();
  const envoy = found.found ? found.version : `not found (${found.reason})`;
  const pinning = defaultPinning(o.pin);
  const tmp = mkdtempSync(join(tmpdir(), "echomesh-reload-"));
  chmodSync(tmp, 0o755);
  const echoes: ChildProcess[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.all(echoes.map((c) => stopChild(c)));
    rmSync(tmp, { recursive: true, force: true });
  };
  const release = stopOnInterrupt("reload bench", log, cleanup);
  const runs: ReloadRun[] = [];
  try {
    const [e1, e2, e3] = await startEchoes(distDir, pinning?.servers, echoes);
    const sets: [number[], number[]] = [
      [e1 as number, e2 as number],
      [e2 as number, e3 as number],
    ];
    const ctx: ReloadContext = { dist: distDir, tmp, cores: pinning?.servers };
    for (const target of RELOAD_TARGETS) {
      if (o.only.length > 0 && !o.only.includes(target.name)) continue;
      log(`reload ${target.name}: ${o.durationS} s, ${o.reloads} reloads... `);
      const r = await runTarget(o, ctx, target, sets, [e1, e2, e3] as number[]);
      runs.push(r);
      log(
        r.failure !== undefined
          ? `${r.failure.slice(0, 160)}\n`
          : `${fmt(r.requestsPerSec)}/s, ${r.errors} errors, max ${fmt(r.latencyMaxMs)} ms\n`,
      );
      await sleep(500);
    }
  } finally {
    await cleanup();
    release();
  }
  const markdown = reloadMarkdown(o, envoy, runs, startedAt);
  const files = writeReport(
    o.outDir ?? defaultOutputDir(["loadtest", "results"], "echomesh-bench"),
    "reload",
    {
      markdown,
      data: { meta: { startedAt, node: process.version, envoy, options: o }, runs },
    },
  );
  return { runs, markdown, files };
}

export function reloadMain(argv: string[]): Promise<number> {
  return commandMain({ name: "reload", usage: RELOAD_USAGE, parse: parseReloadArgs, run: runReload }, argv);
}

runIfMain("reload", reloadMain);
