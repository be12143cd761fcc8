/**
 * Envoy's admin `/stats` output for a StatsSnapshot: plain text (`name: value`, sorted by name,
 * counters and gauges together) and `?format=json` (`{"stats":[{"name":..,"value":..}]}`).
 * Prometheus output is in ./prometheus.ts. Both share the `?filter=` / `?usedonly` selection here.
 */
import { EchomeshError } from "../../lib/errors.js";
import { compileRegex, type Regex } from "../config/regex.js";
import type { StatsSnapshot } from "./store.js";

export type StatType = "counter" | "gauge";

export interface StatEntry {
  name: string;
  value: number;
  type: StatType;
}

export interface StatsQuery {
  /**
   * `?filter=<regex>`: keep stats whose name the regex finds (a partial match, like Envoy's). RE2, as
   * in Envoy (parseStatsQuery compiles it): linear time, so no filter can stall the data plane that
   * shares this event loop.
   */
  filter: Pick<Regex, "test"> | null;
  /**
   * `?usedonly`: Envoy keeps stats that were ever written. The store has no "used" bit, so a stat is
   * used here when its value is not 0 (a gauge that went back to 0 is hidden).
   */
  usedOnly: boolean;
}

export class StatsQueryError extends EchomeshError {
  readonly code = "ECHOMESH_PROXY_STATS_QUERY";
}

/** Reads `filter` and `usedonly` from a URL's search params; throws StatsQueryError on a bad regex. */
export function parseStatsQuery(params: URLSearchParams): StatsQuery {
  const source = params.get("filter");
  let filter: StatsQuery["filter"] = null;
  if (source !== null && source !== "") {
    const compiled = compileRegex(source, "global", null);
    if (!compiled.ok) throw new StatsQueryError(`Invalid re2 regex: ${source}`);
    filter = compiled.value;
  }
  return { filter, usedOnly: params.has("usedonly") };
}

/** Every stat of the snapshot the query keeps, sorted by name. */
export function selectStats(snapshot: StatsSnapshot, query: StatsQuery): StatEntry[] {
  const out: StatEntry[] = [];
  const add = (record: Record<string, number>, type: StatType) => {
    for (const name of Object.keys(record)) {
      const value = record[name] ?? 0;
      if (query.usedOnly && value === 0) continue;
      if (query.filter !== null && !query.filter.test(name)) continue;
      out.push({ name, value, type });
    }
  };
  add(snapshot.counters, "counter");
  add(snapshot.gauges, "gauge");
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

/** `cluster.myservice.upstream_rq_total: 3` lines, one per stat, with a trailing newline. */
export function renderStatsText(stats: readonly StatEntry[]): string {
  let out = "";
  for (const s of stats) out += `${s.name}: ${s.value}\n`;
  return out;
}

/**
 * Envoy's `/stats?format=json`: `{"stats":[{"name":..,"value":..},...]}` on one line, counters and
 * gauges together by name (Envoy adds a histograms entry; the proxy keeps no histograms).
 */
export function renderStatsJson(stats: readonly StatEntry[]): string {
  return JSON.stringify({ stats: stats.map((s) => ({ name: s.name, value: s.value })) });
}
