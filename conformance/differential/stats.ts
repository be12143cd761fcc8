/**
 * The stats the differential run compares, read from each proxy's admin (`/stats` and the host lines
 * of `/clusters`), under canonical names both sides share: `http.ingress.*`, `cluster.<name>.*`,
 * `listener.main.*` (Envoy names a listener's stats by its address, `listener.127.0.0.1_<port>.`; the
 * port differs per side, so it becomes `main`), `host.<cluster>.*` (the `/clusters` host counters,
 * summed over the cluster's hosts) and `server.*`. What is compared is the delta a case causes.
 * Byte counters (`*_bytes_*`) and histograms are left out: they restate the header differences
 * compared field by field.
 */
import { request } from "../../lib/http_client.js";
import { poll } from "../../lib/wait.js";
import { CLUSTERS, STAT_PREFIX } from "./config.js";

/** Connection manager stats (`http.<stat_prefix>.`). */
const HCM = [
  "downstream_cx_total",
  "downstream_cx_active",
  "downstream_cx_destroy",
  "downstream_cx_destroy_remote",
  "downstream_cx_destroy_local",
  "downstream_cx_destroy_active_rq",
  "downstream_cx_destroy_remote_active_rq",
  "downstream_cx_destroy_local_active_rq",
  "downstream_cx_http1_total",
  "downstream_cx_http2_total",
  "downstream_cx_http1_active",
  "downstream_cx_http2_active",
  "downstream_cx_protocol_error",
  "downstream_cx_upgrades_total",
  "downstream_cx_upgrades_active",
  "downstream_cx_drain_close",
  "downstream_cx_idle_timeout",
  "downstream_rq_total",
  "downstream_rq_active",
  "downstream_rq_http1_total",
  "downstream_rq_http2_total",
  "downstream_rq_1xx",
  "downstream_rq_2xx",
  "downstream_rq_3xx",
  "downstream_rq_4xx",
  "downstream_rq_5xx",
  "downstream_rq_completed",
  "downstream_rq_rx_reset",
  "downstream_rq_tx_reset",
  "downstream_rq_non_relative_path",
  "downstream_rq_too_large",
  "downstream_rq_ws_on_non_ws_route",
  "downstream_rq_timeout",
  "downstream_rq_idle_timeout",
  "downstream_rq_header_timeout",
  "downstream_rq_response_before_rq_complete",
  "downstream_rq_max_duration_reached",
  "rs_too_large",
];

/** Router stats, also under `http.<stat_prefix>.`. */
const ROUTER = [
  "no_route",
  "no_cluster",
  "rq_total",
  "rq_redirect",
  "rq_direct_response",
  "rq_reset_after_downstream_response_started",
];

/** Response codes whose `upstream_rq_<code>` counters are compared (plain, `external.`, `internal.`). */
const CODES = [101, 200, 204, 301, 304, 400, 403, 404, 413, 426, 431, 500, 501, 502, 503, 504];
const CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/** Cluster stats (`cluster.<name>.`). */
const CLUSTER = [
  "upstream_rq_total",
  "upstream_rq_active",
  "upstream_rq_completed",
  "upstream_rq_pending_total",
  "upstream_rq_pending_active",
  "upstream_rq_pending_failure_eject",
  "upstream_rq_pending_overflow",
  "upstream_rq_cancelled",
  "upstream_rq_timeout",
  "upstream_rq_per_try_timeout",
  "upstream_rq_retry",
  "upstream_rq_retry_success",
  "upstream_rq_retry_limit_exceeded",
  "upstream_rq_retry_overflow",
  "upstream_rq_rx_reset",
  "upstream_rq_tx_reset",
  "upstream_cx_total",
  "upstream_cx_active",
  "upstream_cx_http1_total",
  "upstream_cx_http2_total",
  "upstream_cx_connect_fail",
  "upstream_cx_connect_timeout",
  "upstream_cx_destroy",
  "upstream_cx_destroy_local",
  "upstream_cx_destroy_remote",
  "upstream_cx_destroy_with_active_rq",
  "upstream_cx_destroy_local_with_active_rq",
  "upstream_cx_destroy_remote_with_active_rq",
  "upstream_cx_none_healthy",
  "upstream_cx_protocol_error",
  "upstream_cx_close_notify",
  "retry_or_shadow_abandoned",
  ...["", "external.", "internal."].flatMap((scope) => [
    `${scope}upstream_rq_completed`,
    ...CLASSES.map((c) => `${scope}upstream_rq_${c}`),
    ...CODES.map((c) => `${scope}upstream_rq_${c}`),
  ]),
];

/** Listener stats (`listener.<address>.`). */
const LISTENER = [
  "downstream_cx_total",
  "downstream_cx_destroy",
  "downstream_cx_active",
  "downstream_cx_overflow",
  "no_filter_chain_match",
  ...CLASSES.map((c) => `http.${STAT_PREFIX}.downstream_rq_${c}`),
  `http.${STAT_PREFIX}.downstream_rq_completed`,
];

/** Host counters of `/clusters` (`<cluster>::<host>::<stat>::<value>`). */
const HOST = [
  "cx_total",
  "cx_active",
  "cx_connect_fail",
  "rq_total",
  "rq_active",
  "rq_success",
  "rq_error",
  "rq_timeout",
];

/** Every compared stat, by canonical name. */
export const COMPARED_STATS: readonly string[] = [
  ...HCM.map((s) => `http.${STAT_PREFIX}.${s}`),
  ...ROUTER.map((s) => `http.${STAT_PREFIX}.${s}`),
  ...Object.keys(CLUSTERS).flatMap((c) => CLUSTER.map((s) => `cluster.${c}.${s}`)),
  ...LISTENER.map((s) => `listener.main.${s}`),
  ...Object.keys(CLUSTERS).flatMap((c) => HOST.map((s) => `host.${c}.${s}`)),
  "server.envoy_bug_failures",
];

/** The distinct stat names behind COMPARED_STATS (before expanding clusters): the "at least 40". */
export const STAT_NAMES: readonly string[] = [
  ...HCM.map((s) => `http.*.${s}`),
  ...ROUTER.map((s) => `http.*.${s}`),
  ...CLUSTER.map((s) => `cluster.*.${s}`),
  ...LISTENER.map((s) => `listener.*.${s}`),
  ...HOST.map((s) => `host.*.${s}`),
  "server.envoy_bug_failures",
];

const compared = new Set(COMPARED_STATS);

/**
 * Canonical name of an admin stat line's name, for a proxy whose main listener is on `listenerPort`;
 * null for stats of other listeners (the admin's).
 */
export function canonical(name: string, listenerPort: number): string | null {
  const m = /^listener\.(.+?)_(\d+)\.(.*)$/.exec(name);
  if (m !== null) return Number(m[2]) === listenerPort ? `listener.main.${m[3]}` : null;
  return name;
}

/** Whether `name` is one of `extra`: an exact name, or under a prefix ending in `.`. */
export function isExtra(name: string, extra: readonly string[]): boolean {
  return extra.some((e) => (e.endsWith(".") ? name.startsWith(e) : name === e));
}

/**
 * The compared stats of one proxy now, and the case's `extra` ones (names or `.`-prefixes; absent
 * ones are missing from the map: read them as 0).
 */
export async function readStats(
  adminPort: number,
  listenerPort: number,
  extra: readonly string[] = [],
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const wanted = (name: string): boolean => compared.has(name) || isExtra(name, extra);
  const [stats, clusters] = await Promise.all([
    request(adminPort, "/stats", { timeoutMs: 5000 }),
    request(adminPort, "/clusters", { timeoutMs: 5000 }),
  ]);
  for (const line of stats.text.split("\n")) {
    const i = line.lastIndexOf(": ");
    if (i === -1) continue;
    const value = Number(line.slice(i + 2));
    const name = canonical(line.slice(0, i).trim(), listenerPort);
    if (name !== null && wanted(name) && Number.isFinite(value)) out.set(name, value);
  }
  for (const line of clusters.text.split("\n")) {
    const parts = line.split("::");
    if (parts.length !== 4) continue;
    const [cluster, , stat, raw] = parts;
    const name = `host.${cluster}.${stat}`;
    const value = Number(raw);
    if (wanted(name) && Number.isFinite(value)) out.set(name, (out.get(name) ?? 0) + value);
  }
  return out;
}

/**
 * A gauge of open connections or requests: 0 once a case is over (the client and upstreams closed).
 * An outlier ejection is not one: it lasts base_ejection_time.
 */
function isActiveGauge(name: string): boolean {
  return name.endsWith("_active") && !name.endsWith("ejections_active");
}

/**
 * Reads until the case is over for the proxy: every open-connection and open-request gauge is back
 * to 0 (the client closed its connection, the upstreams cut theirs) and two reads in a row agree.
 * Gives up after 3 s (a gauge that never returns to 0 then shows in the deltas).
 */
export async function settledStats(
  adminPort: number,
  listenerPort: number,
  extra: readonly string[] = [],
): Promise<Map<string, number>> {
  let last = "";
  return poll(
    () => readStats(adminPort, listenerPort, extra),
    (m) => {
      // Sorted: Envoy's /clusters lists clusters in no fixed order.
      const key = JSON.stringify([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
      const same = key === last;
      last = key;
      return same && [...m].every(([name, value]) => value === 0 || !isActiveGauge(name));
    },
    { withinMs: 3000, intervalMs: 40 },
  );
}

/** after - before, for every compared stat (and every one of `extra`) that moved. */
export function deltas(
  before: Map<string, number>,
  after: Map<string, number>,
  extra: readonly string[] = [],
): Map<string, number> {
  const out = new Map<string, number>();
  const extras = [...new Set([...before.keys(), ...after.keys()])].filter((n) => isExtra(n, extra)).sort();
  for (const name of new Set([...COMPARED_STATS, ...extras])) {
    const d = (after.get(name) ?? 0) - (before.get(name) ?? 0);
    if (d !== 0) out.set(name, d);
  }
  return out;
}

/**
 * The `/clusters` host lines named by `wanted` (`<cluster>::<stat>`), as
 * `<cluster>::<host index>::<stat>` -> value, hosts numbered in address order (the recording
 * upstream's port differs per side, so addresses are not compared).
 */
export async function readClusterLines(
  adminPort: number,
  wanted: readonly string[],
): Promise<Map<string, string>> {
  const text = (await request(adminPort, "/clusters", { timeoutMs: 5000 })).text;
  const hosts = new Map<string, string[]>();
  const lines: Array<[cluster: string, host: string, stat: string, value: string]> = [];
  for (const line of text.split("\n")) {
    const parts = line.split("::");
    if (parts.length !== 4) continue;
    const [cluster = "", host = "", stat = "", value = ""] = parts;
    if (!wanted.includes(`${cluster}::${stat}`)) continue;
    lines.push([cluster, host, stat, value]);
    const known = hosts.get(cluster) ?? [];
    if (!known.includes(host)) hosts.set(cluster, [...known, host]);
  }
  const out = new Map<string, string>();
  for (const [cluster, host, stat, value] of lines) {
    const index = (hosts.get(cluster) ?? []).sort().indexOf(host);
    out.set(`${cluster}::${index}::${stat}`, value);
  }
  return out;
}
