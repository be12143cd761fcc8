/**
 * latest.md: the settings, our proxy against Envoy, one table per scenario, the issue targets,
 * skipped targets.
 */
import type { Scenario } from "../scenarios.js";
import type { Goal, Row, VersusEnvoy } from "../summary.js";

export interface ReportMeta {
  startedAt: string;
  finishedAt: string;
  node: string;
  cpus: number;
  durationS: number;
  warmupS: number;
  rounds: number;
  connections: number;
  wsSockets: number;
  pinning: string;
  /** Version of the Envoy the `envoy*` targets ran ("1.40.0"), or why there is none. */
  envoy: string;
  idleRssMb: Record<string, number>;
  skipped: Record<string, string>;
}

const n = (v: number | null | undefined, digits = 0): string =>
  v === null || v === undefined
    ? "–"
    : v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const x = (v: number | null): string => (v === null ? "–" : `${v.toFixed(2)}×`);

function httpTable(sc: Scenario, rows: Row[]): string[] {
  const unit = sc.kind === "ws" ? "RT/s" : "req/s";
  const latencyDigits = sc.kind === "http" ? 0 : 2;
  const out = [
    `| target | ${unit} per round | × ${sc.targets[0]} | × Envoy | × HAProxy | p50 ms | p99 ms | max ms | errors (non-2xx) | CPU µs/${sc.kind === "ws" ? "RT" : "req"} | echo CPU µs/req | machine busy |`,
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    const p50 =
      sc.kind === "latency" && r.p50AddedMs !== null
        ? `${n(r.latencyP50Ms, 3)} (+${n(r.p50AddedMs, 3)})`
        : n(r.latencyP50Ms, latencyDigits);
    out.push(
      `| ${r.target} | ${r.requestsPerSec.map((v) => n(v)).join(" / ")} | ${x(r.ratioToBaseline)} | ${x(r.ratioToEnvoy)} | ${x(r.ratioToHaproxy)} | ${p50} | ${n(r.latencyP99Ms, latencyDigits)} | ${n(r.latencyMaxMs, latencyDigits)} | ${r.errors} (${r.non2xx}) | ${n(r.cpuUsPerRequest)} | ${n(r.backendCpuUsPerRequest)} | ${r.machineBusy === null ? "–" : `${Math.round(r.machineBusy * 100)}%`} |`,
    );
  }
  return out;
}

function idleTable(rows: Row[]): string[] {
  const out = [
    "| target | opened / alive | RSS MiB before → held | KiB per socket | fds held | errors |",
    "|---|---|---|---:|---:|---:|",
  ];
  for (const r of rows) {
    const per =
      r.rssMb !== null && r.rssBeforeMb !== null && r.opened
        ? ((r.rssMb - r.rssBeforeMb) * 1024) / r.opened
        : null;
    out.push(
      `| ${r.target} | ${n(r.opened)} / ${n(r.alive)} | ${n(r.rssBeforeMb, 1)} → ${n(r.rssMb, 1)} | ${n(per, 1)} | ${n(r.fdsHeld)} | ${r.errors} |`,
    );
  }
  return out;
}

/** The first table: our proxy against Envoy, scenario by scenario, ratios from the same rounds. */
function versusTable(
  versus: VersusEnvoy[],
  scenarios: readonly Scenario[],
  idleRssMb: Record<string, number>,
): string[] {
  const pair = (a: string, b: string) => `${a} / ${b}`;
  // autocannon reports whole milliseconds, h2load and the ws client microseconds
  const ms = (v: VersusEnvoy) => (scenarios.find((s) => s.name === v.scenario)?.kind === "http" ? 0 : 2);
  const rss = (r: Row) => `${n(idleRssMb[r.target] ?? null, 1)} → ${n(r.rssMb, 1)}`;
  const out = [
    "| scenario | targets | req/s ours ÷ Envoy | CPU/req ours ÷ Envoy | CPU µs/req ours / Envoy | p99 ms ours / Envoy | errors ours / Envoy | RSS MiB idle → loaded, ours / Envoy |",
    "|---|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const v of versus) {
    const [o, e] = [v.oursRow, v.envoyRow];
    out.push(
      `| ${v.scenario} | ${pair(v.ours, v.envoy)} | ${x(v.throughputRatio)} | ${x(v.cpuRatio)} | ${pair(n(o.cpuUsPerRequest), n(e.cpuUsPerRequest))} | ${pair(n(o.latencyP99Ms, ms(v)), n(e.latencyP99Ms, ms(v)))} | ${pair(String(o.errors), String(e.errors))} | ${pair(rss(o), rss(e))} |`,
    );
  }
  return out;
}

export function markdownReport(
  meta: ReportMeta,
  scenarios: readonly Scenario[],
  rows: Row[],
  goals: Goal[],
  versus: VersusEnvoy[],
): string {
  const lines = [
    "# echomesh load test",
    "",
    `${meta.startedAt} → ${meta.finishedAt} · Node ${meta.node} · Envoy ${meta.envoy} · ${meta.cpus} cores · ${meta.rounds} interleaved round(s) of ${meta.durationS} s (+${meta.warmupS} s warm-up) · ${meta.connections} connections · ${meta.pinning}`,
    "",
    'Ratios are medians of same-round ratios. CPU µs/req is the target\'s own process tree (utime+stime from /proc) divided by the requests it served; for `direct` and `minimal` that is the server itself. "echo CPU" is the two echo backends\' CPU per request. "machine busy" is the share of all cores busy in the window (every process on the machine): far above what the bench itself uses means other jobs were taking CPU, and req/s of that run says little.',
    "",
  ];
  const idle = Object.entries(meta.idleRssMb)
    .map(([t, mb]) => `${t} ${mb.toFixed(1)} MiB`)
    .join(", ");
  if (idle !== "") lines.push(`Idle RSS after start (before any load): ${idle}.`, "");
  if (versus.length > 0)
    lines.push(
      "## Our proxy vs Envoy",
      "",
      "Both read the same config (ours the seed's v2 dialect, Envoy its v3 twin) with one worker, in front of the same echoes, in the same rounds. Ratios are medians of same-round ratios: req/s above 1× means our proxy served more than Envoy, CPU/req above 1× means it spent more CPU per request (ws: per round trip). RSS: idle after start → at the end of the run (ws-idle: while the sockets are held); a mesh is its 3 processes.",
      "",
      ...versusTable(versus, scenarios, meta.idleRssMb),
      "",
    );
  for (const sc of scenarios) {
    const mine = rows.filter((r) => r.scenario === sc.name);
    if (mine.length === 0) continue;
    lines.push(`## ${sc.name}`, "", sc.description, "");
    lines.push(...(sc.kind === "ws-idle" ? idleTable(mine) : httpTable(sc, mine)), "");
    const notes: string[] = [];
    for (const r of mine) {
      for (const f of r.failures) notes.push(`- ${r.target} failed, ${f}`);
      const codes = Object.entries(r.statusCodes).map(([c, k]) => `${c} ×${k}`);
      if (codes.length > 0) notes.push(`- ${r.target} non-2xx responses: ${codes.join(", ")}`);
    }
    if (notes.length > 0) lines.push(...notes, "");
  }
  lines.push("## Targets (issues 2 and 5)", "", "| issue | goal | this run | met |", "|---|---|---|---|");
  for (const g of goals)
    lines.push(
      `| #${g.issue} | ${g.goal} | ${g.value} | ${g.met === null ? "not measured" : g.met ? "yes" : "**no**"} |`,
    );
  lines.push("");
  const skipped = Object.entries(meta.skipped);
  if (skipped.length > 0) {
    lines.push("## Not run", "");
    for (const [t, why] of skipped) lines.push(`- ${t}: ${why}`);
    lines.push("");
  }
  return lines.join("\n");
}
