/**
 * Running the corpus: cases grouped by config (one Envoy and one proxy per group), each case sent to
 * Envoy and then to our proxy, every difference classified as listed (known.ts, mirrored by
 * docs/ENVOY-DIFFERENCES.md) or unlisted (a failure).
 */
import { send } from "./client.js";
import { compare, glob, sentRequestIds, show } from "./compare.js";
import { configKey } from "./config.js";
import { KNOWN, type KnownDifference } from "./known.js";
import { type Side, type SideName, startSide } from "./proxies.js";
import { deltas, settledStats } from "./stats.js";
import type { Case, Difference, Observation } from "./types.js";
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
    const [envoy, echomesh] = await Promise.all(
      (["envoy", "echomesh"] as const).map((name) =>
        startSide({ name, doc: c.config, upstreamPorts: upstreams.ports, envoyPath, dir, group }),
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
    this.upstreams.begin(c.upstream);
    const result = await send(side.listenerPort, c.exchange);
    const upstream = this.upstreams.end();
    const before = this.last.get(name) ?? new Map<string, number>();
    const after = await settledStats(side.adminPort, side.listenerPort);
    this.last.set(name, after);
    return { ...result, upstream, stats: deltas(before, after) };
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
