/** Assertions that fail with the measured numbers in the message (the report keeps them too). */
import { EchomeshError } from "../../lib/errors.js";

export class CheckFailure extends EchomeshError {
  readonly code = "ECHOMESH_CONFORMANCE_CHECK";
}

export function expect(ok: boolean, message: string): asserts ok {
  if (!ok) throw new CheckFailure(message);
}

/**
 * Gateway API's fairness rule: every backend with a share got traffic, nothing else did, and each
 * observed share is within `tolerance` (absolute) of its expected share.
 */
export function expectShares(
  counts: Record<string, number>,
  expected: Record<string, number>,
  tolerance = 0.05,
): void {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const problems: string[] = [];
  for (const [name, n] of Object.entries(counts)) {
    if (!(name in expected)) problems.push(`${n} answers from unexpected ${name}`);
  }
  for (const [name, share] of Object.entries(expected)) {
    const got = (counts[name] ?? 0) / total;
    if (Math.abs(got - share) > tolerance) {
      problems.push(`${name}: share ${got.toFixed(3)}, expected ${share.toFixed(3)} +-${tolerance}`);
    }
  }
  expect(problems.length === 0, `${problems.join("; ")} (counts ${JSON.stringify(counts)} of ${total})`);
}
