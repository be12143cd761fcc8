import type { Host } from "../upstream/host.js";

/** A source of uniform numbers in [0, 1): `Math.random` by default, a seeded generator in tests. */
export type RandomSource = () => number;

/**
 * A load-balancing policy over one cluster's eligible hosts.
 *
 * Design: the balancer keeps the host set. The cluster calls `setHosts()` with the eligible hosts
 * (healthy and not draining) whenever membership or health changes, never per request. `choose()`
 * then does no allocation and costs O(1) (unweighted round robin, random, P2C) or O(log n)
 * (weighted round robin and weighted least request: an EDF heap; weighted random: binary search).
 */
export interface LoadBalancer {
  /** Replace the eligible hosts. The array is not copied: the caller must not mutate it afterwards. */
  setHosts(hosts: readonly Host[]): void;
  /** The next host, or null when there is none. */
  choose(): Host | null;
}

/** `Math.floor(random() * n)` clamped to [0, n) (a generator may return exactly 1). */
export function randomIndex(random: RandomSource, n: number): number {
  const i = Math.floor(random() * n);
  return i >= n ? n - 1 : Math.max(i, 0);
}

/** True when at least two hosts have different weights (Envoy then leaves its unweighted fast path). */
export function weightsDiffer(hosts: readonly Host[]): boolean {
  const first = hosts[0];
  if (first === undefined) return false;
  for (let i = 1; i < hosts.length; i++) if (hosts[i]!.weight !== first.weight) return true;
  return false;
}
