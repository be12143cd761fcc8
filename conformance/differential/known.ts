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

export const KNOWN: readonly KnownDifference[] = [
  {
    title: "Rate-limited retry back-off is not applied",
    cases: ["retry-rate-limited-back-off"],
    fields: [
      "stat.cluster.raw.upstream_rq_retry_backoff_ratelimited",
      "stat.cluster.raw.upstream_rq_retry_backoff_exponential",
    ],
    reason:
      "not yet: rate_limited_retry_back_off is accepted with a warning and not applied (docs/ENVOY-DIFFERENCES.md, Retries): the retry waits the exponential back-off, not the upstream's retry-after",
  },
];
