/**
 * Running the corpus: cases grouped by config (one Envoy and one proxy per group), each case sent to
 * Envoy and then to our proxy, every difference classified as listed (known.ts, mirrored by
 * docs/ENVOY-DIFFERENCES.md) or unlisted (a failure).
 */

import { poll, sleep } from "../../lib/wait.js";
import { type ClientResult, send } from "./client.js";
import { compare, glob, sentRequestIds, show } from "./compare.js";
import { configKey } from "./config.js";
import { KNOWN, type KnownDifference } from "./known.js";
import { type Side, type SideName, startSide } from "./proxies.js";
import { deltas, readClusterLines, readStats, settledStats } from "./stats.js";
import type { Case, Difference, Exchange, Observation, StatWait } from "./types.js";
import type { Upstreams } from "./upstreams.js";

/** Cases with equal configs, in corpus order of their first case. */
export function groupByConfig(cases: readonly Case[]): Case[][] {
  const groups = new Map<string, Case[]>();
  for (const c of cases) {
    const key = configKey(c.config);
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  return [...groups.values()];
}

/** The known entry that excuses `d` in case `id`, if any. */
export function listedBy(
  id: string,
  d: Difference,
  known: readonly KnownDifference[] = KNOWN,
): KnownDifference | null {
  return (
    known.find((k) => k.cases.some((c) => glob(c).test(id)) && k.fields.some((f) => glob(f).test(d.field))) ??
    null
  );
}

export interface CaseResult {
  id: string;
  envoy: Observation;
  echomesh: Observation;
  /** Differences a known entry excuses, with its title. */
  listed: Array<Difference & { by: string }>;
  unlisted: Difference[];
}

const EMPTY: Omit<Observation, "start"> = {
  responses: [],
  error: "",
  closed: false,
  websocket: "",
  upstream: [],
  stats: new Map(),
};

/** A case's exchanges in sending order: its list, `repeat` times. */
export function exchanges(c: Case): Exchange[] {
  const list = Array.isArray(c.exchange) ? c.exchange : [c.exchange];
  return Array.from({ length: c.repeat ?? 1 }, () => list).flat();
}

/**
 * Sends a case's exchanges: one after the other, or (`staggerMs`) all at once, the i-th `i * staggerMs`
 * after the first. One exchange gives its result as it is; several give their responses in exchange
 * order, their errors prefixed with their index, and `closed` as a list.
 */
export async function sendAll(port: number, c: Case): Promise<ClientResult> {
  const list = exchanges(c);
  const results: ClientResult[] = [];
  if (c.staggerMs === undefined) {
    for (const ex of list) results.push(await send(port, ex));
  } else {
    const stagger = c.staggerMs;
    results.push(...(await Promise.all(list.map((ex, i) => sleep(i * stagger).then(() => send(port, ex))))));
  }
  if (results.length === 1 && results[0] !== undefined) return results[0];
  return {
    responses: results.flatMap((r) => r.responses),
    error: results
      .map((r, i) => (r.error === "" ? "" : `#${i}: ${r.error}`))
      .filter(Boolean)
      .join("; "),
    closed: results.some((r) => r.closed),
    websocket: results.map((r) => r.websocket).join(""),
  };
}

/** A case's waits as a list. */
function waitList(w: StatWait | StatWait[] | undefined): StatWait[] {
  return w === undefined ? [] : Array.isArray(w) ? w : [w];
}

/**
 * Waits (bounded) until each stat in turn has moved by `atLeast` from `before`; "" when they did,
 * else what was seen.
 */
async function waitFor(
  adminPort: number,
  listenerPort: number,
  before: Map<string, number>,
  waits: StatWait[],
): Promise<string> {
  const missed: string[] = [];
  for (const w of waits) {
    const withinMs = w.withinMs ?? 5000;
    const from = before.get(w.stat) ?? 0;
    const seen = await poll(
      async () => ((await readStats(adminPort, listenerPort, [w.stat])).get(w.stat) ?? 0) - from,
      (v) => v >= w.atLeast,
      { withinMs, intervalMs: 50 },
    );
    if (seen < w.atLeast) missed.push(`${w.stat} moved by ${seen} (< ${w.atLeast}) in ${withinMs} ms`);
  }
  return missed.join("; ");
}

/** A start failure's output on one line, without the temporary file's path (which differs per run). */
function oneLine(reason: string): string {
  return reason
    .split("\n")
    .map((l) => l.trim().replace(/\/\S*\/group-\d+-\w+\.json: /, ""))
    .filter(Boolean)
    .join(" / ")
    .slice(0, 400);
}

/** One Envoy and one proxy on one config, with each side's stats as of the end of its last case. */
export class Pair {
  private readonly last = new Map<SideName, Map<string, number>>();

  private constructor(
    private readonly sides: Record<SideName, Side>,
    private readonly upstreams: Upstreams,
  ) {}

  static async start(
    c: Case,
    upstreams: Upstreams,
    envoyPath: string,
    dir: string,
    group: number,
  ): Promise<Pair> {
    upstreams.idle();
    const [envoy, echomesh] = await Promise.all(
      (["envoy", "echomesh"] as const).map((name) =>
        startSide({ name, doc: c.config, upstreamPorts: upstreams.ports(name), envoyPath, dir, group }),
      ),
    );
    if (envoy === undefined || echomesh === undefined) throw new Error("unreachable");
    const pair = new Pair({ envoy, echomesh }, upstreams);
    for (const side of [envoy, echomesh]) {
      if (side.running) pair.last.set(side.name, await settledStats(side.adminPort, side.listenerPort));
    }
    return pair;
  }

  /** Envoy's start failure, if any: the config is wrong, not our proxy. */
  get envoyFailed(): string | null {
    return this.sides.envoy.running ? null : this.sides.envoy.reason;
  }

  private async observe(name: SideName, c: Case): Promise<Observation> {
    const side = this.sides[name];
    if (!side.running) return { ...EMPTY, start: `did not start: ${oneLine(side.reason)}` };
    const extra = c.stats ?? [];
    // Stats of the case's own beyond the common ones: read now (the last case's read lacks them).
    const before =
      extra.length > 0
        ? await settledStats(side.adminPort, side.listenerPort, extra)
        : (this.last.get(name) ?? new Map<string, number>());
    const [waitBefore, waitAfter] = [waitList(c.waitBefore), waitList(c.waitAfter)];
    const waits = [...waitBefore, ...waitAfter].map((w) => w.stat);
    const base = waits.length > 0 ? await readStats(side.adminPort, side.listenerPort, waits) : before;
    this.upstreams.begin(name, c);
    const waited = [await waitFor(side.adminPort, side.listenerPort, base, waitBefore)];
    const result = await sendAll(side.listenerPort, c);
    waited.push(await waitFor(side.adminPort, side.listenerPort, base, waitAfter));
    const { requests, healthcheck } = this.upstreams.end(name);
    const after = await settledStats(side.adminPort, side.listenerPort, extra);
    this.last.set(name, after);
    const observation: Observation = { ...result, upstream: requests, stats: deltas(before, after, extra) };
    if (c.clusters !== undefined) observation.clusters = await readClusterLines(side.adminPort, c.clusters);
    if (c.healthCheck !== undefined) observation.healthcheck = healthcheck;
    if (waited.some(Boolean)) observation.waited = waited.filter(Boolean).join("; ");
    return observation;
  }

  async run(c: Case): Promise<CaseResult> {
    const envoy = await this.observe("envoy", c);
    const echomesh = await this.observe("echomesh", c);
    const listed: CaseResult["listed"] = [];
    const unlisted: Difference[] = [];
    for (const d of compare(envoy, echomesh, sentRequestIds(c))) {
      const by = listedBy(c.id, d);
      if (by === null) unlisted.push(d);
      else listed.push({ ...d, by: by.title });
    }
    return { id: c.id, envoy, echomesh, listed, unlisted };
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.sides).map((s) => (s.running ? s.stop() : undefined)));
  }
}

/** A readable diff of a case's unlisted differences. */
export function describeUnlisted(r: CaseResult): string {
  const lines = [`${r.id}: ${r.unlisted.length} unlisted difference(s) (Envoy vs echomesh):`];
  for (const d of r.unlisted)
    lines.push(`  ${d.field}\n    envoy:    ${show(d.envoy)}\n    echomesh: ${show(d.echomesh)}`);
  lines.push(
    "  Fix our proxy, or list it in conformance/differential/known.ts and docs/ENVOY-DIFFERENCES.md with its reason.",
  );
  return lines.join("\n");
}

/** Known entries that excused nothing in `results` (fixed since, or their case did not run). */
export function unusedKnown(
  results: readonly CaseResult[],
  known: readonly KnownDifference[] = KNOWN,
): KnownDifference[] {
  const used = new Set(results.flatMap((r) => r.listed.map((d) => d.by)));
  return known.filter((k) => !used.has(k.title));
}
