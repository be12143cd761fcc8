/** Read Envoy-named counters and gauges from an admin listener's `/stats` (text: `name: value`). */
import { request } from "./client.js";
import { isEnvoyDialect } from "./render.js";
import type { Endpoint, RunningTopology } from "./types.js";

/**
 * Whether the topology's proxies have Envoy's admin (an Envoy config dialect: our proxy, Envoy, the
 * mini proxies). Checks of features any proxy has rest on what the echo and the client saw; Envoy's
 * counters are an extra check where they exist.
 */
export function hasEnvoyAdmin(topo: RunningTopology): boolean {
  return isEnvoyDialect(topo.target.dialect);
}

export async function stats(admin: Endpoint): Promise<Map<string, number>> {
  const r = await request(admin, "/stats");
  if (r.status !== 200) throw new Error(`admin /stats answered ${r.status}`);
  const out = new Map<string, number>();
  for (const line of r.body.toString("utf8").split("\n")) {
    const i = line.lastIndexOf(": ");
    if (i === -1) continue;
    const value = Number(line.slice(i + 2));
    if (Number.isFinite(value)) out.set(line.slice(0, i).trim(), value);
  }
  return out;
}

/**
 * `/clusters` (text): the health_flags of each host of `cluster`, keyed by its hostname (the DNS
 * name; the address for an IP literal), e.g. `{ service1: "healthy", service2: "/failed_active_hc" }`.
 */
export async function healthFlags(admin: Endpoint, cluster: string): Promise<Record<string, string>> {
  const r = await request(admin, "/clusters");
  if (r.status !== 200) throw new Error(`admin /clusters answered ${r.status}`);
  const names = new Map<string, string>();
  const flags = new Map<string, string>();
  for (const line of r.body.toString("utf8").split("\n")) {
    const [name, host, field, value] = line.split("::");
    if (name !== cluster || host === undefined || value === undefined) continue;
    if (field === "hostname") names.set(host, value);
    else if (field === "health_flags") flags.set(host, value);
  }
  return Object.fromEntries([...flags].map(([host, f]) => [names.get(host) || host, f]));
}

/** The hosts of `cluster` whose health_flags include `flag` (e.g. `/failed_outlier_check`), sorted. */
export async function hostsFlagged(admin: Endpoint, cluster: string, flag: string): Promise<string[]> {
  const flags = await healthFlags(admin, cluster);
  return Object.keys(flags)
    .filter((h) => flags[h]?.includes(flag))
    .sort();
}

export async function stat(admin: Endpoint, name: string): Promise<number> {
  const value = (await stats(admin)).get(name);
  if (value === undefined) throw new Error(`admin /stats has no ${name}`);
  return value;
}

/** Prometheus text: the sum of every sample of `metric` (all label sets). */
export async function promSum(ep: Endpoint, metric: string): Promise<number> {
  const r = await request(ep, "/metrics");
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  let sum = 0;
  for (const line of r.body.toString("utf8").split("\n")) {
    if (line.startsWith(`${metric}{`) || line.startsWith(`${metric} `)) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}
