/**
 * Runs one (scenario, target, round): the load generator on its own core, CPU sampled from /proc at
 * the window's edges for the target's processes and for the echo backends.
 */
import type { HttpLoad, HttpResult } from "./load/autocannon.js";
import { h2load } from "./load/h2load.js";
import type { LoadWorker } from "./load/protocol.js";
import type { WsLoad, WsResult } from "./load/ws.js";
import { cpuCount, machineBusyUs, treeCpuUs, treeFds, treeRssMb } from "./proc.js";
import type { RunRecord } from "./record.js";
import type { Scenario } from "./scenarios.js";
import type { RunningTarget } from "./targets/types.js";

export interface RunSettings {
  dist: string;
  tmp: string;
  durationS: number;
  warmupS: number;
  connections: number;
  wsSockets: number;
  loadCores: string | undefined;
  backendPids: number[];
  /** The pinned load-generator process (HTTP and WebSocket jobs). */
  worker: LoadWorker;
}

interface Window {
  onStart(): void;
  onEnd(): void;
  cpu(
    requests: number,
  ): Pick<RunRecord, "cpuUsPerRequest" | "backendCpuUsPerRequest" | "cpuSeconds" | "machineBusy">;
}

/** CPU of the target and of the backends between onStart and onEnd. */
function cpuWindow(target: RunningTarget, backendPids: number[]): Window {
  // a target that is itself a backend (direct) has no separate backend cost
  const backends = backendPids.some((p) => target.pids.includes(p)) ? [] : backendPids;
  let t0 = 0;
  let t1 = 0;
  let b0 = 0;
  let b1 = 0;
  let m0 = 0;
  let m1 = 0;
  let w0 = 0n;
  let w1 = 0n;
  return {
    onStart: () => {
      t0 = treeCpuUs(target.pids);
      b0 = treeCpuUs(backends);
      m0 = machineBusyUs();
      w0 = process.hrtime.bigint();
    },
    onEnd: () => {
      t1 = treeCpuUs(target.pids);
      b1 = treeCpuUs(backends);
      m1 = machineBusyUs();
      w1 = process.hrtime.bigint();
    },
    cpu: (requests) => ({
      cpuUsPerRequest: requests > 0 ? (t1 - t0) / requests : null,
      backendCpuUsPerRequest: requests > 0 && backends.length > 0 ? (b1 - b0) / requests : null,
      cpuSeconds: (t1 - t0) / 1e6,
      machineBusy: w1 > w0 ? (m1 - m0) / (Number(w1 - w0) / 1e3) / cpuCount() : null,
    }),
  };
}

const EMPTY = {
  requestsPerSec: null,
  latencyP50Ms: null,
  latencyP99Ms: null,
  latencyMaxMs: null,
  requests: 0,
  errors: 0,
  non2xx: 0,
  cpuUsPerRequest: null,
  backendCpuUsPerRequest: null,
  cpuSeconds: null,
  machineBusy: null,
  rssMb: null,
};

export async function runOne(
  s: RunSettings,
  scenario: Scenario,
  targetName: string,
  target: RunningTarget,
  round: number,
): Promise<RunRecord> {
  const base = { scenario: scenario.name, target: targetName, round };
  try {
    return { ...base, ...(await measure(s, scenario, target)) };
  } catch (err) {
    return { ...base, ...EMPTY, failure: err instanceof Error ? err.message : String(err) };
  }
}

type Measured = Omit<RunRecord, "scenario" | "target" | "round">;

interface LoadResult {
  requests: number;
  requestsPerSec: number | null;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  latencyMaxMs: number | null;
}

/** A throughput run's record: the load result, the CPU of its window and the target's RSS after it. */
function throughput(r: LoadResult, win: Window, target: RunningTarget, errors: Partial<Measured>): Measured {
  return {
    ...EMPTY,
    requestsPerSec: r.requestsPerSec,
    latencyP50Ms: r.latencyP50Ms,
    latencyP99Ms: r.latencyP99Ms,
    latencyMaxMs: r.latencyMaxMs,
    requests: r.requests,
    ...errors,
    ...win.cpu(r.requests),
    rssMb: treeRssMb(target.pids),
  };
}

async function measure(s: RunSettings, scenario: Scenario, target: RunningTarget): Promise<Measured> {
  const win = cpuWindow(target, s.backendPids);
  const timeoutMs = (s.warmupS + s.durationS) * 1000 + 60_000;
  const onMark = (name: string): void => (name === "start" ? win.onStart() : win.onEnd());

  if (scenario.kind === "http") {
    const load: HttpLoad = {
      url: `${target.url}${scenario.path ?? "/"}`,
      connections: s.connections,
      durationS: s.durationS,
      warmupS: s.warmupS,
      method: scenario.method ?? "GET",
      bodyBytes: scenario.bodyBytes ?? 0,
      ...(scenario.newConnectionPerRequest === true ? { newConnectionPerRequest: true } : {}),
    };
    const r = await s.worker.run<HttpResult>({ kind: "http", load }, onMark, timeoutMs);
    return throughput(r, win, target, {
      errors: r.errors + r.timeouts + r.non2xx,
      non2xx: r.non2xx,
      statusCodes: r.statusCodes,
    });
  }

  if (scenario.kind === "h2c" || scenario.kind === "latency") {
    const h1 = scenario.kind === "latency";
    const url = h1 ? target.url : target.h2cUrl;
    if (url === undefined) throw new Error("target does not serve h2c");
    const run = {
      url,
      h1,
      connections: h1 ? 1 : 50,
      streams: h1 ? 1 : 10,
      logDir: s.tmp,
      cores: s.loadCores,
    };
    // h2load takes whole seconds: a warm-up under 0.5 s is skipped
    if (Math.round(s.warmupS) >= 1)
      await h2load(
        { ...run, durationS: s.warmupS },
        () => {},
        () => {},
      );
    const r = await h2load({ ...run, durationS: s.durationS }, win.onStart, win.onEnd);
    return throughput(r, win, target, { errors: r.errors + r.non2xx, non2xx: r.non2xx });
  }

  const wsUrl = `${target.url.replace(/^http/, "ws")}/ws`;
  if (scenario.kind === "ws") {
    const load: WsLoad = {
      mode: "rt",
      url: wsUrl,
      connections: 50,
      durationS: s.durationS,
      warmupS: s.warmupS,
      size: 64,
    };
    const r = await s.worker.run<WsResult>({ kind: "ws", load }, onMark, timeoutMs);
    return throughput(r, win, target, { errors: r.errors });
  }

  // ws-idle
  const rssBeforeMb = treeRssMb(target.pids);
  let rssMb = 0;
  let fdsHeld = 0;
  const load: WsLoad = {
    mode: "capacity",
    url: wsUrl,
    sockets: s.wsSockets,
    parallel: 100,
    holdS: Math.min(2, s.durationS),
  };
  const r = await s.worker.run<WsResult>(
    { kind: "ws", load },
    () => {
      rssMb = treeRssMb(target.pids);
      fdsHeld = treeFds(target.pids);
    },
    timeoutMs + s.wsSockets * 20,
  );
  return {
    ...EMPTY,
    requests: r.alive,
    errors: r.errors,
    rssMb,
    rssBeforeMb,
    fdsHeld,
    opened: r.opened,
    alive: r.alive,
  };
}
