/** Read Envoy-named counters and gauges from an admin listener's `/stats` (text: `name: value`). */
import { request } from "./client.js";
import type { Endpoint } from "./types.js";

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
