#!/usr/bin/env node
/**
 * `npm run bench -- --scenario attack` (or `node dist/loadtest/attack.js`): issue 9's two HTTP/2
 * attacks against each named proxy, one fresh proxy and upstream per attack, and per target: upstream
 * TCP connections opened, the proxy's peak RSS and fds, and a concurrent probe client's GET latency.
 *   rapid-reset  20 h2c connections x 1,000 HEADERS + RST_STREAM(CANCEL)
 *   stream-hog   3,000 streams on one h2c connection to a slow upstream path, held 3 s, then the
 *                client leaves
 * Writes loadtest/results/attack.{md,json}. Method: loadtest/README.md.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { defaultOutputDir } from "../lib/cli.js";
import { findEnvoy } from "../lib/envoy.js";
import { request } from "../lib/http_client.js";
import { freePort, waitForPort } from "../lib/net.js";
import { distDir } from "../lib/paths.js";
import { stopChild } from "../lib/process.js";
import { sleep } from "../lib/wait.js";
import type { AttackJob, AttackResult } from "./attacks/clients.js";
import { FdSampler, Probe, type ProbeStats, rssAndPeakMb, upstreamStats } from "./attacks/measure.js";
import {
  type AttackTarget,
  echomeshTarget,
  envoyEdgeTarget,
  envoyTarget,
  haproxyTarget,
} from "./attacks/targets.js";
import {
  COMMON_FLAGS,
  type CommonOptions,
  commandMain,
  commonOptions,
  countFlag as int,
  type ReportFiles,
  runIfMain,
  stopOnInterrupt,
  writeReport,
} from "./command.js";
import { LoadWorker } from "./load/protocol.js";
import { defaultPinning, spawnPinned, stderrTail } from "./proc.js";
import type { TargetContext } from "./targets/types.js";

export type AttackName = "rapid-reset" | "stream-hog";
const ATTACKS: readonly AttackName[] = ["rapid-reset", "stream-hog"];

export interface AttackOptions extends CommonOptions {
  /** Our proxy's builds: label -> compiled tree. */
  builds: [label: string, dist: string][];
  /** Target names to run (default: every build, haproxy, envoy). */
  only: string[];
  /** Also run each build and Envoy with proxy/profiles/edge.yaml. */
  edge: boolean;
  attacks: AttackName[];
  connections: number;
  resets: number;
  streams: number;
  holdMs: number;
  slowMs: number;
  ignoreStreamLimit: boolean;
}

export const ATTACK_USAGE = `Usage: npm run bench -- --scenario attack [options]   (or: node dist/loadtest/attack.js [options])

  --echomesh LABEL=DIST  our proxy from the compiled tree DIST (repeatable; default echomesh=dist),
                         e.g. --echomesh before=/tmp/base/dist --echomesh after=dist
  --edge                 also run each build and Envoy with proxy/profiles/edge.yaml (targets
                         LABEL-edge and envoy-edge)
  --only NAMES           targets to run, comma-separated (default: every build, haproxy, envoy)
  --attacks NAMES        rapid-reset,stream-hog (default both)
  --connections N        rapid reset: h2c connections (default 20)
  --resets N             rapid reset: HEADERS+RST_STREAM pairs per connection (default 1000)
  --streams N            stream hog: streams on the one connection (default 3000)
  --hold-ms MS           stream hog: how long the client holds its streams (default 3000)
  --slow-ms MS           the slow upstream path's delay (default 5000: longer than the hold)
  --ignore-stream-limit  stream hog: open every stream at once, past the server's
                         SETTINGS_MAX_CONCURRENT_STREAMS (default: keep to it, as client libraries do)
  --no-pin               do not pin the attack client / servers with taskset
  --out DIR              where attack.{md,json} go (default loadtest/results)
  -h, --help             this text
`;

export function parseAttackArgs(argv: string[]): AttackOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      echomesh: { type: "string", multiple: true },
      only: { type: "string" },
      edge: { type: "boolean" },
      attacks: { type: "string" },
      connections: { type: "string" },
      resets: { type: "string" },
      streams: { type: "string" },
      "hold-ms": { type: "string" },
      "slow-ms": { type: "string" },
      "ignore-stream-limit": { type: "boolean" },
      ...COMMON_FLAGS,
    },
  });
  const builds = (values.echomesh ?? ["echomesh=dist"]).map((b): [string, string] => {
    const eq = b.indexOf("=");
    if (eq < 1) throw new Error(`--echomesh takes LABEL=DIST, got ${b}`);
    const dir = b.slice(eq + 1);
    return [b.slice(0, eq), dir === "dist" ? distDir : resolve(dir)];
  });
  const attacks = (values.attacks ?? ATTACKS.join(",")).split(",").filter((a) => a !== "");
  for (const a of attacks)
    if (!ATTACKS.includes(a as AttackName)) throw new Error(`unknown attack ${a} (${ATTACKS.join(", ")})`);
  return {
    builds,
    only: (values.only ?? "").split(",").filter((o) => o !== ""),
    edge: values.edge === true,
    attacks: attacks as AttackName[],
    connections: int("connections", values.connections, 20),
    resets: int("resets", values.resets, 1000),
    streams: int("streams", values.streams, 3000),
    holdMs: int("hold-ms", values["hold-ms"], 3000),
    slowMs: int("slow-ms", values["slow-ms"], 5000),
    ignoreStreamLimit: values["ignore-stream-limit"] === true,
    ...commonOptions(values),
  };
}

/** One attack on one target. */
export interface AttackRecord {
  attack: AttackName;
  target: string;
  /**
   * TCP connections the proxy opened to the upstream during the attack and after it, except those
   * opened for the probe's requests (counted in probeUpstreamConnections).
   */
  upstreamConnections: number | null;
  probeUpstreamConnections: number | null;
  /** Most requests the upstream held at once. */
  upstreamPeakActive: number | null;
  upstreamRequests: number | null;
  /** Requests still running upstream 1 s after the attacker left (not cancelled). */
  upstreamActiveAfter: number | null;
  rssIdleMb: number | null;
  rssPeakMb: number | null;
  fdsIdle: number | null;
  fdsPeak: number | null;
  probe: ProbeStats | null;
  attacker: AttackResult | null;
  failure?: string;
}

interface Upstream {
  port: number;
  statsPort: number;
  child: ChildProcess;
}

async function startUpstream(cores: string | undefined, slowMs: number): Promise<Upstream> {
  const port = await freePort();
  const statsPort = await freePort();
  const child = spawnPinned(
    process.execPath,
    [
      join(distDir, "loadtest/attacks/upstream.js"),
      "--port",
      String(port),
      "--stats-port",
      String(statsPort),
      "--slow-ms",
      String(slowMs),
    ],
    { cores },
  );
  try {
    for (const p of [port, statsPort])
      await waitForPort(p, { timeoutMs: 20_000, child, describeExit: () => stderrTail(child) });
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return { port, statsPort, child };
}

function job(attack: AttackName, port: number, o: AttackOptions): AttackJob {
  return attack === "rapid-reset"
    ? { kind: "rapid-reset", port, connections: o.connections, streams: o.resets, batch: 50, holdMs: 1000 }
    : {
        kind: "stream-hog",
        port,
        streams: o.streams,
        path: "/slow",
        batch: 100,
        holdMs: o.holdMs,
        ignoreLimit: o.ignoreStreamLimit,
      };
}

/** Stoppers of the processes running now, for an interrupted run. */
const live = new Set<() => Promise<void>>();

const EMPTY: Omit<AttackRecord, "attack" | "target"> = {
  upstreamConnections: null,
  probeUpstreamConnections: null,
  upstreamPeakActive: null,
  upstreamRequests: null,
  upstreamActiveAfter: null,
  rssIdleMb: null,
  rssPeakMb: null,
  fdsIdle: null,
  fdsPeak: null,
  probe: null,
  attacker: null,
};

/**
 * Starts the upstream and the target (the system under attack, on the server cores; the attack client
 * has its own core, so it attacks every target at the same pace), checks the target answers, then
 * runs the attack in the worker while the probe runs; the probe goes on for at least 2 s after the
 * attacker left and until it has answered 3 times in a row (at most 10 s), so a proxy that takes
 * time to recover shows it.
 */
async function attackOne(
  attack: AttackName,
  target: AttackTarget,
  o: AttackOptions,
  ctx: TargetContext,
  worker: LoadWorker,
): Promise<AttackRecord> {
  const base = { attack, target: target.name };
  const upstream = await startUpstream(ctx.cores, o.slowMs);
  const stopUpstream = (): Promise<void> => stopChild(upstream.child);
  live.add(stopUpstream);
  let stop = async (): Promise<void> => {};
  try {
    const t = await target.start(ctx, upstream.port);
    stop = t.stop;
    live.add(stop);
    for (let i = 0; i < 5; i++) {
      const r = await request(t.port, "/", { timeoutMs: 5000 });
      if (r.status !== 200) throw new Error(`${target.name} answers GET / with ${r.status}`);
    }
    await sleep(500);
    const probe = new Probe(t.port);
    const idle = rssAndPeakMb(t.pids);
    const fds = new FdSampler(t.pids);
    const fdsIdle = fds.now();
    const before = await upstreamStats(upstream.statsPort, true);
    let leftAt = 0;
    const attacker = await worker.run<AttackResult>(
      job(attack, t.port, o),
      (name) => {
        if (name === "start") probe.start();
        else leftAt = Date.now();
      },
      60_000,
    );
    await sleep(1000);
    const after1s = await upstreamStats(upstream.statsPort);
    const deadline = leftAt + 10_000;
    while (Date.now() < deadline && (Date.now() < leftAt + 2000 || probe.streak < 3)) await sleep(100);
    const probed = await probe.stop(leftAt);
    const after = await upstreamStats(upstream.statsPort);
    fds.stop();
    return {
      ...base,
      upstreamConnections:
        after.accepts - before.accepts - (after.probeConnections - before.probeConnections),
      probeUpstreamConnections: after.probeConnections - before.probeConnections,
      upstreamPeakActive: after.maxActive,
      upstreamRequests: after.requests - before.requests,
      upstreamActiveAfter: after1s.active,
      rssIdleMb: idle.rssMb,
      rssPeakMb: rssAndPeakMb(t.pids).peakMb,
      fdsIdle,
      fdsPeak: fds.peak,
      probe: probed,
      attacker,
    };
  } catch (err) {
    return { ...base, ...EMPTY, failure: err instanceof Error ? err.message : String(err) };
  } finally {
    await stop();
    await stopUpstream();
    live.delete(stop);
    live.delete(stopUpstream);
  }
}

export interface AttackReport {
  meta: { startedAt: string; node: string; envoy: string; pinning: string; options: AttackOptions };
  records: AttackRecord[];
  skipped: Record<string, string>;
}

export async function runAttacks(
  o: AttackOptions,
  log: (s: string) => void = (s) => process.stderr.write(s),
): Promise<{ report: AttackReport; markdown: string; files: ReportFiles }> {
  const startedAt = new Date().toISOString();
  const pinning = defaultPinning(o.pin);
  const tmp = mkdtempSync(join(tmpdir(), "echomesh-attack-"));
  const ctx: TargetContext = {
    dist: distDir,
    tmp,
    cores: pinning?.servers,
    backends: { echo: [0, 0], echoPids: [0, 0] },
  };
  const all = [
    ...o.builds.map(([label, dist]) => echomeshTarget(label, dist)),
    ...(o.edge ? o.builds.map(([label, dist]) => echomeshTarget(`${label}-edge`, dist, true)) : []),
    haproxyTarget,
    envoyTarget,
    ...(o.edge ? [envoyEdgeTarget] : []),
  ];
  const targets = all.filter((t) => o.only.length === 0 || o.only.includes(t.name));
  const skipped: Record<string, string> = {};
  const worker = new LoadWorker(join(distDir, "loadtest/attacks/worker.js"), pinning?.load);
  const records: AttackRecord[] = [];
  const release = stopOnInterrupt("attack", log, () => Promise.all([...live].map((stop) => stop())));
  try {
    for (const attack of o.attacks) {
      for (const t of targets) {
        const why = t.unavailable();
        if (why !== null) {
          skipped[t.name] = why;
          continue;
        }
        log(`${attack} / ${t.name} ...`);
        const rec = await attackOne(attack, t, o, ctx, worker);
        records.push(rec);
        log(` ${rec.failure ?? oneLine(rec)}\n`);
      }
    }
  } finally {
    await worker.stop();
    rmSync(tmp, { recursive: true, force: true });
    release();
  }
  const e = findEnvoy();
  const report: AttackReport = {
    meta: {
      startedAt,
      node: process.version,
      envoy: e.found ? e.version : `not found (${e.reason})`,
      pinning: pinning
        ? `attack client on core ${pinning.load}, proxy and upstream on core(s) ${pinning.servers} (taskset); probe unpinned`
        : "not pinned",
      options: o,
    },
    records,
    skipped,
  };
  const markdown = attackMarkdown(report);
  const outDir = o.outDir ?? defaultOutputDir(["loadtest", "results"], "echomesh-bench");
  const files = writeReport(outDir, "attack", { markdown, data: report });
  return { report, markdown, files };
}

const n = (v: number | null): string => (v === null ? "–" : Math.round(v).toLocaleString("en-US"));
const ms = (v: number | null): string =>
  v === null ? "–" : v < 10 ? v.toFixed(1) : Math.round(v).toString();

function oneLine(r: AttackRecord): string {
  return `${n(r.upstreamConnections)} upstream connections, RSS ${n(r.rssIdleMb)} -> ${n(r.rssPeakMb)} MiB, probe p50 ${ms(r.probe?.p50Ms ?? null)} max ${ms(r.probe?.maxMs ?? null)} ms, ${r.probe?.failed ?? 0} failed`;
}

/** "200: 1,024, 503: 976" */
const counts = (m: Record<string, number>): string =>
  Object.entries(m)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: ${v.toLocaleString("en-US")}`)
    .join(", ") || "none";

/** RST_STREAM error codes by name (RFC 9113 7). */
const RST_NAMES: Record<string, string> = {
  "0": "NO_ERROR",
  "1": "PROTOCOL_ERROR",
  "2": "INTERNAL",
  "7": "REFUSED",
  "8": "CANCEL",
  "11": "ENHANCE_YOUR_CALM",
};

export function attackMarkdown(report: AttackReport): string {
  const o = report.meta.options;
  const out: string[] = [
    "# Attacks (issue 9)",
    "",
    `${report.meta.startedAt} · Node ${report.meta.node} · Envoy ${report.meta.envoy} · ${report.meta.pinning}`,
    "",
    "Each attack runs against a fresh proxy in front of a fresh counting HTTP/1.1 upstream. The probe sends",
    "one `GET /probe` at a time on a fresh connection (5 s timeout) from the attack's start until 2 s after",
    "the attacker left and the probe answered 3 times in a row (at most 10 s). Upstream TCP connections",
    "leave out those whose first request was the probe's. RSS peak is VmHWM.",
    "",
  ];
  const titles: Record<AttackName, string> = {
    "rapid-reset": `rapid reset: ${o.connections} h2c connections x ${o.resets.toLocaleString("en-US")} HEADERS+RST_STREAM`,
    "stream-hog": `stream hog: up to ${o.streams.toLocaleString("en-US")} streams on one h2c connection to a ${o.slowMs} ms path (${o.ignoreStreamLimit ? "all at once, past the server's limit" : "as many at once as the server's SETTINGS_MAX_CONCURRENT_STREAMS allows"}), held ${o.holdMs} ms, then the client leaves`,
  };
  for (const attack of o.attacks) {
    const recs = report.records.filter((r) => r.attack === attack);
    if (recs.length === 0) continue;
    out.push(
      `## ${titles[attack]}`,
      "",
      "| target | upstream TCP connections | upstream requests: peak at once / still running 1 s after the client left | RSS idle → peak MiB | fds idle → peak | probe GETs ok / failed (failing until) | probe p50 / max ms | SETTINGS_MAX_CONCURRENT_STREAMS | attacker: streams opened / responses / RST_STREAM from the proxy | GOAWAY / closed by the proxy |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    );
    for (const r of recs) {
      if (r.failure !== undefined) {
        out.push(
          `| ${r.target} | failed: ${r.failure.replace(/\|/g, "/").replace(/\s+/g, " ").slice(0, 200)} ||||||||`,
        );
        continue;
      }
      const p = r.probe;
      const a = r.attacker;
      const until =
        p?.failingUntilMs === null || p === null ? "" : ` (until +${(p.failingUntilMs / 1000).toFixed(1)} s)`;
      const resets =
        a === null
          ? {}
          : Object.fromEntries(Object.entries(a.total.resets).map(([k, v]) => [RST_NAMES[k] ?? k, v]));
      out.push(
        `| ${r.target} | ${n(r.upstreamConnections)} | ${n(r.upstreamPeakActive)} / ${n(r.upstreamActiveAfter)} | ${n(r.rssIdleMb)} → ${n(r.rssPeakMb)} | ${n(r.fdsIdle)} → ${n(r.fdsPeak)} | ${p?.ok ?? "–"} / ${p?.failed ?? "–"}${until} | ${ms(p?.p50Ms ?? null)} / ${ms(p?.maxMs ?? null)} | ${a === null ? "–" : a.advertisedStreams === null ? "none" : n(a.advertisedStreams)} | ${a === null ? "–" : `${n(a.total.opened)} / ${counts(a.total.statuses)} / ${counts(resets)}`} | ${a === null ? "–" : `${a.goaways} / ${a.closedByServer} of ${a.connections}`} |`,
      );
    }
    out.push("");
  }
  const skipped = Object.entries(report.skipped);
  if (skipped.length > 0) out.push("Not run:", "", ...skipped.map(([t, why]) => `- ${t}: ${why}`), "");
  return out.join("\n");
}

export function attackMain(argv: string[]): Promise<number> {
  return commandMain({ name: "attack", usage: ATTACK_USAGE, parse: parseAttackArgs, run: runAttacks }, argv);
}

runIfMain("attack", attackMain);
