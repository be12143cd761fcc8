/**
 * Per (scenario, target) summaries over the rounds, ratios taken within each round (the machine is
 * shared and noisy: only same-round ratios mean much), and the issue targets met or missed.
 */
import type { RunRecord } from "./record.js";
import type { Scenario } from "./scenarios.js";

export interface Row {
  scenario: string;
  target: string;
  rounds: number;
  requestsPerSec: (number | null)[];
  /** Median over rounds of (this target ÷ the scenario's baseline in the same round). */
  ratioToBaseline: number | null;
  /** Same, against the scenario's Envoy target (envoy, envoy-h2up, envoy-mesh). */
  ratioToEnvoy: number | null;
  /** Same, against the scenario's HAProxy target (haproxy, haproxy-h2up, haproxy-mesh). */
  ratioToHaproxy: number | null;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  latencyMaxMs: number | null;
  /** Median p50 minus the baseline's median p50. */
  p50AddedMs: number | null;
  errors: number;
  non2xx: number;
  cpuUsPerRequest: number | null;
  backendCpuUsPerRequest: number | null;
  rssMb: number | null;
  /** Median share of the machine busy in the run's window (every process). */
  machineBusy: number | null;
  rssBeforeMb: number | null;
  fdsHeld: number | null;
  opened: number | null;
  alive: number | null;
  failures: string[];
  /** Non-2xx responses by status code, summed over rounds. */
  statusCodes: Record<string, number>;
}

export function median(values: readonly (number | null | undefined)[]): number | null {
  const v = values
    .filter((x): x is number => typeof x === "number" && Number.isFinite(x))
    .sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

type Metric = (r: RunRecord) => number | null;
const throughput: Metric = (r) => r.requestsPerSec;
const cpuPerRequest: Metric = (r) => r.cpuUsPerRequest;

/** Median over rounds of `metric(target) ÷ metric(other)`, both taken in the same round. */
function ratioInRounds(
  runs: RunRecord[],
  target: string,
  other: string | undefined,
  scenario: string,
  metric: Metric = throughput,
) {
  if (other === undefined || other === target) return null;
  const ratios: number[] = [];
  for (const r of runs) {
    const mine = metric(r);
    if (r.scenario !== scenario || r.target !== target || mine === null) continue;
    const o = runs.find((x) => x.scenario === scenario && x.target === other && x.round === r.round);
    const theirs = o === undefined ? null : metric(o);
    if (theirs) ratios.push(mine / theirs);
  }
  return median(ratios);
}

/** The scenario's target of a proxy family: `envoy` finds envoy, envoy-h2up or envoy-mesh. */
const member = (names: readonly string[], family: string): string | undefined =>
  names.find((t) => t === family || t.startsWith(`${family}-`));

/** Targets of a scenario that have runs. */
const ranTargets = (sc: Scenario, runs: RunRecord[]): string[] =>
  sc.targets.filter((t) => runs.some((r) => r.scenario === sc.name && r.target === t));

export function summarize(scenarios: readonly Scenario[], runs: RunRecord[]): Row[] {
  const rows: Row[] = [];
  for (const sc of scenarios) {
    const names = ranTargets(sc, runs);
    const baseline = names.includes(sc.targets[0] as string) ? sc.targets[0] : undefined;
    const envoy = member(names, "envoy");
    const haproxy = member(names, "haproxy");
    const p50 = (t: string | undefined) =>
      median(runs.filter((r) => r.scenario === sc.name && r.target === t).map((r) => r.latencyP50Ms));
    const baseP50 = p50(baseline);
    for (const t of names) {
      const mine = runs
        .filter((r) => r.scenario === sc.name && r.target === t)
        .sort((a, b) => a.round - b.round);
      const m = (f: (r: RunRecord) => number | null | undefined) => median(mine.map(f));
      const myP50 = p50(t);
      rows.push({
        scenario: sc.name,
        target: t,
        rounds: mine.length,
        requestsPerSec: mine.map((r) => r.requestsPerSec),
        ratioToBaseline: ratioInRounds(runs, t, baseline, sc.name),
        ratioToEnvoy: ratioInRounds(runs, t, envoy, sc.name),
        ratioToHaproxy: ratioInRounds(runs, t, haproxy, sc.name),
        latencyP50Ms: myP50,
        latencyP99Ms: m((r) => r.latencyP99Ms),
        latencyMaxMs: mine.reduce<number | null>(
          (a, r) => (r.latencyMaxMs === null ? a : Math.max(a ?? 0, r.latencyMaxMs)),
          null,
        ),
        p50AddedMs: t !== baseline && myP50 !== null && baseP50 !== null ? myP50 - baseP50 : null,
        errors: mine.reduce((a, r) => a + r.errors, 0),
        non2xx: mine.reduce((a, r) => a + r.non2xx, 0),
        cpuUsPerRequest: m((r) => r.cpuUsPerRequest),
        backendCpuUsPerRequest: m((r) => r.backendCpuUsPerRequest),
        rssMb: m((r) => r.rssMb),
        machineBusy: m((r) => r.machineBusy),
        rssBeforeMb: m((r) => r.rssBeforeMb),
        fdsHeld: m((r) => r.fdsHeld),
        opened: m((r) => r.opened),
        alive: m((r) => r.alive),
        statusCodes: nonOk(mine),
        failures: mine.flatMap((r) => (r.failure !== undefined ? [`round ${r.round}: ${r.failure}`] : [])),
      });
    }
  }
  return rows;
}

/** Our proxy against Envoy in one scenario: the first table of the report. */
export interface VersusEnvoy {
  scenario: string;
  /** Our target and Envoy's, e.g. echomesh-mesh and envoy-mesh. */
  ours: string;
  envoy: string;
  /** Median over rounds of our req/s (RT/s) ÷ Envoy's in the same round: > 1 is faster than Envoy. */
  throughputRatio: number | null;
  /** Median over rounds of our CPU µs/req ÷ Envoy's in the same round: > 1 costs more than Envoy. */
  cpuRatio: number | null;
  /** The two rows, for the absolute numbers beside the ratios. */
  oursRow: Row;
  envoyRow: Row;
}

/** Every scenario where both our proxy and Envoy ran. */
export function versusEnvoy(scenarios: readonly Scenario[], runs: RunRecord[], rows: Row[]): VersusEnvoy[] {
  const out: VersusEnvoy[] = [];
  for (const sc of scenarios) {
    const names = ranTargets(sc, runs);
    const ours = member(names, "echomesh");
    const envoy = member(names, "envoy");
    const oursRow = rows.find((r) => r.scenario === sc.name && r.target === ours);
    const envoyRow = rows.find((r) => r.scenario === sc.name && r.target === envoy);
    if (ours === undefined || envoy === undefined || oursRow === undefined || envoyRow === undefined)
      continue;
    out.push({
      scenario: sc.name,
      ours,
      envoy,
      throughputRatio: ratioInRounds(runs, ours, envoy, sc.name),
      cpuRatio: ratioInRounds(runs, ours, envoy, sc.name, cpuPerRequest),
      oursRow,
      envoyRow,
    });
  }
  return out;
}

function nonOk(runs: RunRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of runs) {
    for (const [code, count] of Object.entries(r.statusCodes ?? {})) {
      if (!code.startsWith("2")) out[code] = (out[code] ?? 0) + count;
    }
  }
  return out;
}

export interface Goal {
  issue: number;
  goal: string;
  value: string;
  /** null: not measured in this run. */
  met: boolean | null;
}

const fmt = (v: number | null, digits = 2, unit = ""): string =>
  v === null ? "n/a" : `${v.toFixed(digits)}${unit}`;

/** The targets of issues 2 and 5, checked against this run. */
export function goals(rows: Row[], idleRssMb: Record<string, number>): Goal[] {
  const row = (s: string, t: string) => rows.find((r) => r.scenario === s && r.target === t);
  const out: Goal[] = [];
  const check = (issue: number, goal: string, value: string, met: boolean | null) =>
    out.push({ issue, goal, value, met });
  const all = (...conds: (boolean | null)[]) => (conds.some((c) => c === null) ? null : conds.every(Boolean));
  const atLeast = (v: number | null | undefined, min: number) => (v == null ? null : v >= min);
  const atMost = (v: number | null | undefined, max: number) => (v == null ? null : v <= max);
  /** A goal that is only `scenario/target`'s ratio to the scenario's baseline. */
  const ratio = (issue: number, goal: string, scenario: string, target: string, min: number) => {
    const r = row(scenario, target)?.ratioToBaseline ?? null;
    check(issue, goal, `${fmt(r)}x`, atLeast(r, min));
  };

  const echo = row("echo", "direct");
  check(
    2,
    "echo GET / keeps >= 85% of the minimal server's req/s",
    fmt(echo?.ratioToBaseline ?? null),
    atLeast(echo?.ratioToBaseline, 0.85),
  );
  const minimal = row("echo", "minimal");
  const eff =
    echo?.cpuUsPerRequest && minimal?.cpuUsPerRequest ? minimal.cpuUsPerRequest / echo.cpuUsPerRequest : null;
  check(
    2,
    "(same goal by CPU, immune to noise) minimal's CPU µs/req ÷ echo's >= 0.85",
    `${fmt(minimal?.cpuUsPerRequest ?? null, 0)} ÷ ${fmt(echo?.cpuUsPerRequest ?? null, 0)} µs = ${fmt(eff)}`,
    atLeast(eff, 0.85),
  );
  const rss = idleRssMb.direct ?? null;
  check(2, "echo idle RSS < 80 MB", fmt(rss, 1, " MiB"), rss === null ? null : rss < 80);

  const h1 = row("get", "echomesh");
  check(
    5,
    "h1->h1: <= 120 µs CPU/req, >= 0.45x direct, 0 errors",
    `${fmt(h1?.cpuUsPerRequest ?? null, 0, " µs")}, ${fmt(h1?.ratioToBaseline ?? null)}x, ${h1?.errors ?? "n/a"} errors`,
    h1 ? all(atMost(h1.cpuUsPerRequest, 120), atLeast(h1.ratioToBaseline, 0.45), h1.errors === 0) : null,
  );
  const h2 = row("h2up", "echomesh-h2up");
  check(
    5,
    "h1->h2c: <= 140 µs CPU/req, >= 0.40x direct",
    `${fmt(h2?.cpuUsPerRequest ?? null, 0, " µs")}, ${fmt(h2?.ratioToBaseline ?? null)}x`,
    h2 ? all(atMost(h2.cpuUsPerRequest, 140), atLeast(h2.ratioToBaseline, 0.4)) : null,
  );
  ratio(5, "h2c downstream: >= 0.6x direct h2c", "h2c", "echomesh", 0.6);
  const lat = row("latency", "echomesh");
  check(
    5,
    "p50 added one request at a time <= 0.2 ms",
    fmt(lat?.p50AddedMs ?? null, 3, " ms"),
    atMost(lat?.p50AddedMs, 0.2),
  );
  const mesh = row("mesh", "echomesh-mesh");
  check(
    5,
    "mesh: >= 0.25x direct, 0 errors",
    `${fmt(mesh?.ratioToBaseline ?? null)}x, ${mesh?.errors ?? "n/a"} errors`,
    mesh ? all(atLeast(mesh.ratioToBaseline, 0.25), mesh.errors === 0) : null,
  );
  ratio(5, "WebSocket round trips >= 0.5x direct", "ws", "echomesh", 0.5);
  const idle = row("ws-idle", "echomesh");
  check(
    5,
    "idle WebSockets through the proxy: all alive, proxy RSS < 250 MB (5,000 in a full run)",
    idle ? `${idle.alive}/${idle.opened} alive, ${fmt(idle.rssMb, 0, " MiB")}` : "n/a",
    idle ? all(idle.alive === idle.opened && (idle.opened ?? 0) > 0, atMost(idle.rssMb, 250)) : null,
  );
  return out;
}
