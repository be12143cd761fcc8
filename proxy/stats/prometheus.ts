/**
 * Envoy's `/stats/prometheus` (exposition format 0.0.4) for a StatsSnapshot.
 *
 * Hand-written rather than through prom-client: the point is Envoy's exact metric names and labels
 * (`envoy_cluster_upstream_rq{envoy_response_code="503",envoy_cluster_name="myservice"}`), which come
 * from Envoy's default tag extractors (source/common/config/well_known_names.cc): each extractor's
 * regex is matched against the full stat name; group 2 is the tag value and group 1 is cut from the
 * name. The remaining name is sanitised (`[^a-zA-Z0-9_]` -> `_`) and prefixed with `envoy_`.
 * Labels keep extraction order, as Envoy prints them; a stat without tags has `{}`. Only `# TYPE`
 * lines, no `# HELP` and no blank line between families, like Envoy.
 */
import { type StatEntry, type StatsQuery, selectStats } from "./render.js";
import type { StatsSnapshot } from "./store.js";

interface TagExtractor {
  /** Label name as Prometheus shows it (Envoy's `envoy.cluster_name` sanitised). */
  label: string;
  /** Group 1: the part cut from the name; group 2: the tag value. Compiled with the `d` flag. */
  regex: RegExp;
  /** A substring every matching name contains (a cheap pre-check, as in Envoy). */
  substr: string;
}

/** Envoy's default extractors that apply to the stats this proxy emits, in Envoy's order. */
const EXTRACTORS: readonly TagExtractor[] = [
  // *_rq(_<response_code>)
  { label: "envoy_response_code", regex: /_rq(_(\d{3}))$/d, substr: "_rq_" },
  // *_rq_(<response_code_class>)xx
  { label: "envoy_response_code_class", regex: /_rq_((\d))xx$/d, substr: "_rq_" },
  // tcp.(<stat_prefix>.)<base_stat>
  { label: "envoy_tcp_prefix", regex: /^tcp\.((.*?)\.)\w+?$/d, substr: "tcp." },
  // cluster.(<cluster_name>.)*
  { label: "envoy_cluster_name", regex: /^cluster\.(([^.]+)\.).*/d, substr: "cluster." },
  // listener.[<address>.]http.(<stat_prefix>.)*
  {
    label: "envoy_http_conn_manager_prefix",
    regex: /^listener(?=\.).*?\.http\.((.*?)\.)/d,
    substr: ".http.",
  },
  // http.(<stat_prefix>.)*
  { label: "envoy_http_conn_manager_prefix", regex: /^http\.((.*?)\.)/d, substr: "http." },
  // listener.(<address>.)*
  {
    label: "envoy_listener_address",
    regex: /^listener\.(((?:[_.\d]*|[_[\]aAbBcCdDeEfF\d]*))\.)/d,
    substr: "listener.",
  },
  // vhost.(<virtual host name>.)*
  { label: "envoy_virtual_host", regex: /^vhost\.((.*?)\.)/d, substr: "vhost." },
  // listener_manager.(worker_<id>.)*
  {
    label: "envoy_worker_id",
    regex: /^listener_manager\.((worker_\d+)\.)/d,
    substr: "listener_manager.worker_",
  },
];

export interface TaggedName {
  /** The stat name with every extracted tag cut out (`cluster.upstream_rq`). */
  tagExtractedName: string;
  tags: Array<[label: string, value: string]>;
}

/** Envoy's tag extraction for one stat name. */
export function extractTags(name: string): TaggedName {
  const tags: Array<[string, string]> = [];
  const cuts: Array<[number, number]> = [];
  for (const ex of EXTRACTORS) {
    if (!name.includes(ex.substr)) continue;
    if (tags.some(([label]) => label === ex.label)) continue;
    const m = ex.regex.exec(name);
    const cut = m?.indices?.[1];
    const value = m?.[2];
    if (cut === undefined || value === undefined) continue;
    tags.push([ex.label, value]);
    cuts.push([cut[0], cut[1]]);
  }
  if (cuts.length === 0) return { tagExtractedName: name, tags };
  cuts.sort((a, b) => a[0] - b[0]);
  let out = "";
  let pos = 0;
  for (const [start, end] of cuts) {
    if (start > pos) out += name.slice(pos, start);
    pos = Math.max(pos, end);
  }
  out += name.slice(pos);
  return { tagExtractedName: out, tags };
}

/** `envoy_` + the tag-extracted name with every character outside `[a-zA-Z0-9_]` made `_`. */
export function prometheusMetricName(tagExtractedName: string): string {
  return `envoy_${tagExtractedName.replace(/[^a-zA-Z0-9_]/g, "_")}`;
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

interface Sample {
  labels: string;
  value: number;
  sortKey: string;
}

function renderFamilies(stats: readonly StatEntry[], type: "counter" | "gauge"): string {
  const families = new Map<string, Sample[]>();
  for (const s of stats) {
    if (s.type !== type) continue;
    const { tagExtractedName, tags } = extractTags(s.name);
    const metric = prometheusMetricName(tagExtractedName);
    const labels = `{${tags.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
    let samples = families.get(metric);
    if (samples === undefined) {
      samples = [];
      families.set(metric, samples);
    }
    samples.push({ labels, value: s.value, sortKey: s.name });
  }
  let out = "";
  for (const metric of [...families.keys()].sort()) {
    out += `# TYPE ${metric} ${type}\n`;
    const samples = families.get(metric) ?? [];
    samples.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    for (const sample of samples) out += `${metric}${sample.labels} ${sample.value}\n`;
  }
  return out;
}

/** The whole `/stats/prometheus` body: counter families, then gauge families, each sorted by name. */
export function renderPrometheus(
  snapshot: StatsSnapshot,
  query: StatsQuery = { filter: null, usedOnly: false },
): string {
  const stats = selectStats(snapshot, query);
  return renderFamilies(stats, "counter") + renderFamilies(stats, "gauge");
}

/** What Envoy 1.40 answers `/stats/prometheus` with. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; charset=UTF-8";
