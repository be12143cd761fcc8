/** Ratios come from the same round; filters pick scenario/target runs. */
import { describe, expect, it } from "vitest";
import type { RunRecord } from "../record.js";
import { matches, SCENARIOS } from "../scenarios.js";
import { median, summarize, versusEnvoy } from "../summary.js";

function rec(target: string, round: number, rps: number, p50 = 1, cpu = 10, scenario = "get"): RunRecord {
  return {
    scenario,
    target,
    round,
    requestsPerSec: rps,
    latencyP50Ms: p50,
    latencyP99Ms: 2,
    latencyMaxMs: 3,
    requests: rps,
    errors: 0,
    non2xx: 0,
    cpuUsPerRequest: cpu,
    backendCpuUsPerRequest: null,
    cpuSeconds: 1,
    machineBusy: 0.5,
    rssMb: 10,
  };
}

describe("summarize", () => {
  it("takes each ratio against the baseline, Envoy and HAProxy of the same round, then the median", () => {
    const get = SCENARIOS.filter((s) => s.name === "get");
    // round 1 is a slow round for everyone, round 2 a fast one: same-round ratios stay 0.5
    const runs = [
      rec("direct", 1, 1000),
      rec("echomesh", 1, 500, 1.5),
      rec("envoy", 1, 400),
      rec("haproxy", 1, 800),
      rec("direct", 2, 2000),
      rec("echomesh", 2, 1000, 1.5),
      rec("envoy", 2, 800),
      rec("haproxy", 2, 1600),
    ];
    const rows = summarize(get, runs);
    const ours = rows.find((r) => r.target === "echomesh");
    expect(ours?.ratioToBaseline).toBeCloseTo(0.5);
    expect(ours?.ratioToEnvoy).toBeCloseTo(1.25);
    expect(ours?.ratioToHaproxy).toBeCloseTo(0.625);
    expect(rows.find((r) => r.target === "envoy")?.ratioToEnvoy).toBeNull();
    expect(ours?.p50AddedMs).toBeCloseTo(0.5);
    expect(ours?.requestsPerSec).toEqual([500, 1000]);
    expect(rows.find((r) => r.target === "direct")?.ratioToBaseline).toBeNull();
  });

  it("puts our proxy against Envoy per scenario, by family member, throughput and CPU per request", () => {
    const picked = SCENARIOS.filter((s) => s.name === "mesh" || s.name === "ws");
    // mesh: we serve 0.8x Envoy at 1.5x its CPU in both rounds; ws: Envoy did not run
    const runs = [
      rec("direct", 1, 1000, 1, 10, "mesh"),
      rec("echomesh-mesh", 1, 400, 1, 150, "mesh"),
      rec("envoy-mesh", 1, 500, 1, 100, "mesh"),
      rec("direct", 2, 3000, 1, 10, "mesh"),
      rec("echomesh-mesh", 2, 1200, 1, 120, "mesh"),
      rec("envoy-mesh", 2, 1500, 1, 80, "mesh"),
      rec("direct", 1, 1000, 1, 10, "ws"),
      rec("echomesh", 1, 400, 1, 10, "ws"),
    ];
    const rows = summarize(picked, runs);
    const versus = versusEnvoy(picked, runs, rows);
    expect(versus).toHaveLength(1);
    expect(versus[0]).toMatchObject({ scenario: "mesh", ours: "echomesh-mesh", envoy: "envoy-mesh" });
    expect(versus[0]?.throughputRatio).toBeCloseTo(0.8);
    expect(versus[0]?.cpuRatio).toBeCloseTo(1.5);
    expect(versus[0]?.envoyRow.cpuUsPerRequest).toBe(90);
  });

  it("median ignores nulls", () => {
    expect(median([3, null, 1, 2])).toBe(2);
    expect(median([null])).toBeNull();
    expect(median([1, 4])).toBe(2.5);
  });
});

describe("--only patterns", () => {
  it("match scenario, scenario/target and wildcards", () => {
    expect(matches([], "get", "haproxy")).toBe(true);
    expect(matches(["get"], "get", "haproxy")).toBe(true);
    expect(matches(["get/haproxy"], "get", "nginx")).toBe(false);
    expect(matches(["*/echomesh*"], "h2up", "echomesh-h2up")).toBe(true);
    expect(matches(["ws"], "ws-idle", "direct")).toBe(false);
  });
});
