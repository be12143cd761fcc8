/**
 * The differences between Envoy 1.40 and our proxy that stay, each with its reason. The differential
 * run fails on any difference no entry here excuses. docs/ENVOY-DIFFERENCES.md ("Traffic
 * (differential cases)") mirrors this table: one `###` section per entry, same title, naming the same
 * cases (a unit test keeps the two equal). A reason starting "not yet:" is a bug of ours, listed so
 * that it is visible until it is fixed.
 */

export interface KnownDifference {
  /** The `###` title in docs/ENVOY-DIFFERENCES.md. */
  title: string;
  /** The case ids it covers (`*` globs allowed). */
  cases: string[];
  /** The compared fields it excuses (compare.ts names; `*` globs allowed). */
  fields: string[];
  /** Why it stays; "not yet: <what>" for a bug not fixed yet. */
  reason: string;
}

export const KNOWN: readonly KnownDifference[] = [];
