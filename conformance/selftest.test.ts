/**
 * The suite proves it can fail: it runs the relevant tests against the mini proxy (control: all pass)
 * and against each deliberately broken variant, and asserts that EXACTLY the expected tests fail.
 * A test that passes against a broken proxy is a bug in the suite. Process driver (fast, no Docker);
 * the `conformance` vitest project's global setup has built dist/ first.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type BreakKind, MINI_FEATURES, miniTarget } from "./broken/targets.js";
import { buildReport, writeReport } from "./harness/report.js";
import { runAll } from "./harness/runner.js";
import type { Driver, Feature } from "./harness/types.js";
import { allTests } from "./tests/index.js";

interface Case {
  kind: BreakKind;
  features: Feature[];
  /** Test ids that must fail; every other test run must pass (or be skipped by the driver). */
  mustFail: string[];
}

const wsIds = allTests
  .filter((t) => t.feature === "websocket" || t.feature === "websocket-over-h2")
  .map((t) => t.id);

const cases: Case[] = [
  {
    kind: "none",
    features: MINI_FEATURES,
    mustFail: [],
  },
  {
    kind: "first-backend",
    features: ["round-robin", "weighted", "dns-membership", "websocket", "websocket-over-h2"],
    mustFail: [
      "rr-rotation-2",
      "rr-rotation-3",
      "rr-rotation-fresh-2",
      "rr-rotation-fresh-3",
      "rr-concurrent-share-fresh",
      "rr-concurrent-share",
      "rr-concurrent-share-3",
      "rr-weighted-70-30",
      "rr-dns-join",
      "rr-dns-leave",
      "ws-50-concurrent-direct",
      "ws-50-concurrent-mesh",
    ],
  },
  {
    kind: "h1-upstream",
    features: ["h2-upstream", "h2-downstream", "mesh"],
    mustFail: ["h2-upstream-from-h1", "mesh-hop-protocols"],
  },
  { kind: "no-upgrade", features: ["websocket", "websocket-over-h2"], mustFail: wsIds },
  { kind: "dns-once", features: ["dns-membership"], mustFail: ["rr-dns-join", "rr-dns-leave"] },
];

let driver: Driver | undefined;

beforeAll(async () => {
  const { processDriver } = await import("./harness/driver-processes.js");
  driver = await processDriver("self-test: the broken proxies run as processes");
});

afterAll(async () => {
  await driver?.close();
});

describe("conformance self-test", () => {
  for (const c of cases) {
    const target = miniTarget(c.kind);
    test(`${target.name}: exactly ${c.mustFail.length} expected failures`, { timeout: 300_000 }, async () => {
      if (!driver) throw new Error("no driver");
      const started = Date.now();
      const tests = allTests.filter((t) => c.features.includes(t.feature));
      const results = await runAll(driver, target, tests);
      writeReport(buildReport(target, driver, results, started, null), `selftest-${target.name}`);
      const failed = results.filter((r) => r.outcome === "failed").map((r) => r.id);
      const ran = results.filter((r) => r.outcome !== "skipped").map((r) => r.id);
      // Every expected failure must actually have run (a skip would hide a blind spot).
      expect(ran).toEqual(expect.arrayContaining(c.mustFail));
      expect(
        failed.sort(),
        results
          .filter((r) => r.outcome === "failed")
          .map((r) => `${r.id}: ${r.reason}`)
          .join("\n"),
      ).toEqual([...c.mustFail].sort());
    });
  }
});
