/** Assertions that fail with the measured numbers in the message (the report keeps them too). */
import { EchomeshError } from "../../lib/errors.js";

export class CheckFailure extends EchomeshError {
  readonly code = "ECHOMESH_CONFORMANCE_CHECK";
}

export function expect(ok: boolean, message: string): asserts ok {
  if (!ok) throw new CheckFailure(message);
}

/**
 * Gateway API's fairness rule: every backend with a weight got traffic, nothing else did, and each
 * backend's count is within `tolerancePct` percentage points of its weight's share of the total.
 * Integers only (counts, weights, percent): `n/total` against `w/W` +- `t/100` is compared as
 * `|100*n*W - 100*w*total| <= t*total*W`, so a share exactly at the bound (330 of 600 against
 * 1/2 +-5) passes on every machine instead of on float rounding.
 */
export function expectShares(
  counts: Record<string, number>,
  weights: Record<string, number>,
  tolerancePct = 5,
): void {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const weightSum = Object.values(weights).reduce((a, b) => a + b, 0);
  for (const v of [total, weightSum, tolerancePct, ...Object.values(weights)]) {
    if (!Number.isSafeInteger(v)) throw new Error(`expectShares takes integers, got ${v}`);
  }
  const problems: string[] = [];
  for (const [name, n] of Object.entries(counts)) {
    if (!(name in weights)) problems.push(`${n} answers from unexpected ${name}`);
  }
  for (const [name, w] of Object.entries(weights)) {
    const n = counts[name] ?? 0;
    if (Math.abs(100 * n * weightSum - 100 * w * total) > tolerancePct * total * weightSum) {
      problems.push(`${name}: ${n} of ${total}, expected ${w}/${weightSum} of them +-${tolerancePct}%`);
    }
  }
  expect(problems.length === 0, `${problems.join("; ")} (counts ${JSON.stringify(counts)} of ${total})`);
}
