import type { Host } from "../upstream/host.js";
import { type LoadBalancer, type RandomSource, randomIndex, weightsDiffer } from "./types.js";

/**
 * RANDOM: a uniformly random eligible host, or, when weights differ, a host drawn with probability
 * proportional to its weight (binary search over cumulative weights, O(log n)).
 */
export class RandomLoadBalancer implements LoadBalancer {
  private hosts: readonly Host[] = [];
  /** Cumulative weights when weighted, else empty. */
  private cumulative: number[] = [];

  constructor(private readonly random: RandomSource = Math.random) {}

  setHosts(hosts: readonly Host[]): void {
    this.hosts = hosts;
    this.cumulative = [];
    if (!weightsDiffer(hosts)) return;
    let sum = 0;
    for (const h of hosts) {
      sum += h.weight;
      this.cumulative.push(sum);
    }
  }

  choose(): Host | null {
    const n = this.hosts.length;
    if (n === 0) return null;
    if (this.cumulative.length === 0) return this.hosts[randomIndex(this.random, n)]!;
    const target = this.random() * this.cumulative[n - 1]!;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return this.hosts[lo]!;
  }
}
