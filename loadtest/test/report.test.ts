/**
 * What a bench run leaves and says: the chart (legend, date, mode, noisy rows marked), the goals that
 * `--fail-on-goals` turns into exit code 1, the run's folder name, and flags in words.
 */
import { describe, expect, it } from "vitest";
import { missedGoals, runName } from "../bench.js";
import { parseBenchArgs } from "../options.js";
import { noisy, svgChart } from "../report/svg.js";
import type { Goal, Row } from "../summary.js";

function row(target: string, requestsPerSec: (number | null)[]): Row {
  return {
    scenario: "get",
    target,
    rounds: requestsPerSec.length,
    requestsPerSec,
    ratioToBaseline: null,
    ratioToEnvoy: null,
    ratioToHaproxy: null,
    latencyP50Ms: 1,
    latencyP99Ms: 2,
    latencyMaxMs: 3,
    p50AddedMs: null,
    errors: 0,
    non2xx: 0,
    cpuUsPerRequest: 50,
    backendCpuUsPerRequest: null,
    rssMb: null,
    machineBusy: null,
    rssBeforeMb: null,
    fdsHeld: null,
    opened: null,
    alive: null,
    failures: [],
    statusCodes: {},
  };
}

describe("the bench chart", () => {
  const info = { date: "2026-12-02T13:40:05.123Z", mode: "quick: 1 round(s) of 1 s" };

  it("says when the run was and how it ran, with a legend of the colours", () => {
    const svg = svgChart([row("echomesh", [1000]), row("envoy", [900])], info);
    expect(svg).toContain(">2026-12-02 13:40:05 UTC · quick: 1 round(s) of 1 s<");
    for (const name of ["echomesh", "Envoy", "HAProxy", "nginx", "Caddy", "Node proxies", "other"])
      expect(svg).toContain(`>${name}</text>`);
    expect(svg).not.toContain("noisy");
  });

  it("marks a row whose rounds disagree by more than 25% with ~, and says what ~ means", () => {
    expect(noisy(row("echomesh", [1000, 1200]))).toBe(false);
    expect(noisy(row("echomesh", [1000, 1300]))).toBe(true);
    expect(noisy(row("echomesh", [1000]))).toBe(false);
    const svg = svgChart([row("echomesh", [1000, 1300]), row("envoy", [900, 910])], info);
    expect(svg).toContain(">get / echomesh ~</text>");
    expect(svg).toContain(">get / envoy</text>");
    expect(svg).toContain("~ noisy: the rounds' throughput differs by more than 25%");
  });

  it("has a ws-idle panel: the RSS while holding the sockets and how many stayed alive", () => {
    const held = { ...row("echomesh", [null]), scenario: "ws-idle", opened: 200, alive: 199, rssMb: 61.4 };
    const svg = svgChart([row("echomesh", [1000]), held], info);
    expect(svg).toContain("idle WebSockets held");
    expect(svg).toContain(">ws-idle / echomesh</text>");
    expect(svg).toContain(">61 MiB, 199 / 200 alive</text>");
    expect(svgChart([row("echomesh", [1000])], info)).not.toContain("idle WebSockets held");
  });
});

describe("--fail-on-goals", () => {
  it("counts the goals measured and missed; goals not measured do not fail a run", () => {
    const goals: Goal[] = [
      { issue: 5, goal: "met", value: "1", met: true },
      { issue: 5, goal: "missed", value: "0.1", met: false },
      { issue: 5, goal: "not measured", value: "n/a", met: null },
    ];
    expect(missedGoals(goals).map((g) => g.goal)).toEqual(["missed"]);
    expect(missedGoals(goals.filter((g) => g.met !== false))).toEqual([]);
  });

  it("is off unless asked for", () => {
    expect(parseBenchArgs([]).failOnGoals).toBe(false);
    expect(parseBenchArgs(["--fail-on-goals"]).failOnGoals).toBe(true);
  });
});

describe("bench runs and flags", () => {
  it("a run's folder is its start time without colons, so folders sort by time", () => {
    expect(runName("2026-12-02T13:40:05.123Z")).toBe("2026-12-02T13-40-05Z");
  });

  it("bad flags are said in words, naming the flag and the value", () => {
    expect(() => parseBenchArgs(["--rounds", "two"])).toThrow(
      "--rounds must be a positive integer (got two)",
    );
    expect(() => parseBenchArgs(["--duration", "0"])).toThrow("--duration must be a number >= 0.2 (got 0)");
    expect(() => parseBenchArgs(["--bogus"])).toThrow("unknown flag --bogus");
    expect(() => parseBenchArgs(["--out"])).toThrow("--out needs a value");
  });
});
