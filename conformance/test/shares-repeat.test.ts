/** The suite's own rules: integer share comparison and repeated groups. */
import { describe, expect, test } from "vitest";
import { expectShares } from "../harness/assert.js";
import { byTopology, repeated } from "../harness/runner.js";
import type { ConformanceTest } from "../harness/types.js";

describe("expectShares", () => {
  test("a count exactly at the bound passes, one past it fails (no float rounding)", () => {
    expect(() => expectShares({ a: 330, b: 270 }, { a: 1, b: 1 })).not.toThrow();
    expect(() => expectShares({ a: 331, b: 269 }, { a: 1, b: 1 })).toThrow(/a: 331 of 600/);
    // 0.7 + 0.05 in floats is 0.7499999999999999: 450 of 600 is exactly at the bound.
    expect(() => expectShares({ a: 450, b: 150 }, { a: 7, b: 3 })).not.toThrow();
  });

  test("answers from an unexpected backend and non-integer weights are refused", () => {
    expect(() => expectShares({ a: 5, c: 1 }, { a: 1 })).toThrow(/unexpected c/);
    expect(() => expectShares({ a: 5 }, { a: 0.5 })).toThrow(/integers/);
  });
});

describe("repeated", () => {
  const t = (id: string, topology: string): ConformanceTest => ({
    id,
    description: id,
    feature: "round-robin",
    topology,
    check: async () => undefined,
  });

  test("each round of a topology's group is a group of its own, ids carry the round", () => {
    const groups = byTopology(repeated([t("x", "front"), t("y", "mesh"), t("z", "front")], 2));
    expect([...groups].map(([k, g]) => `${k}: ${g.map((c) => c.id).join(",")}`)).toEqual([
      "front: x,z",
      "front#2: x#2,z#2",
      "mesh: y",
      "mesh#2: y#2",
    ]);
    expect(() => repeated([], 0)).toThrow(/positive integer/);
  });
});
