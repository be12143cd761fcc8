import type { Host } from "../upstream/host.js";
import { EdfScheduler } from "./edf_scheduler.js";
import { type LoadBalancer, type RandomSource, randomIndex, weightsDiffer } from "./types.js";

/**
 * LEAST_REQUEST as Envoy does it, on `Host.stats.rq_active`.
 *
 * - Equal weights: power of `choiceCount` choices (default 2). Sample that many hosts uniformly (with
 *   replacement, as Envoy) and keep the one with the fewest active requests; ties keep the first sample.
 * - Different weights: Envoy's EDF schedule whose weights are re-computed at pick time as
 *   `weight / (rq_active + 1)` (`active_request_bias` fixed at Envoy's default 1.0): a picked host is
 *   re-inserted `1 / effectiveWeight` after its current deadline.
 */
export class LeastRequestLoadBalancer implements LoadBalancer {
  private hosts: readonly Host[] = [];
  private weighted = false;
  private readonly edf = new EdfScheduler();

  constructor(
    private readonly random: RandomSource = Math.random,
    private readonly choiceCount = 2,
  ) {
    if (!(choiceCount >= 1)) this.choiceCount = 2;
  }

  setHosts(hosts: readonly Host[]): void {
    this.hosts = hosts;
    this.weighted = weightsDiffer(hosts);
    if (this.weighted) this.edf.reset(hosts, effectivePeriod);
  }

  choose(): Host | null {
    if (this.weighted) {
      const top = this.edf.top();
      if (top === undefined) return null;
      this.edf.rescheduleTop(top.deadline + effectivePeriod(top.host));
      return top.host;
    }
    const n = this.hosts.length;
    if (n === 0) return null;
    let best = this.hosts[randomIndex(this.random, n)]!;
    for (let i = 1; i < this.choiceCount; i++) {
      const sampled = this.hosts[randomIndex(this.random, n)]!;
      if (sampled.stats.rq_active < best.stats.rq_active) best = sampled;
    }
    return best;
  }
}

/** 1 / (weight / (active + 1)): the time until a host is due again. */
function effectivePeriod(host: Host): number {
  return (host.stats.rq_active + 1) / host.weight;
}
