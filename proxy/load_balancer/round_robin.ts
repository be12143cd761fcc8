import type { Host } from "../upstream/host.js";
import { EdfScheduler } from "./edf_scheduler.js";
import { type LoadBalancer, type RandomSource, randomIndex, weightsDiffer } from "./types.js";

/**
 * ROUND_ROBIN as Envoy does it, with one cursor per cluster (Envoy has one per worker).
 *
 * - Equal weights: exact rotation. The first cursor position is random (Envoy's `seed_`, so that
 *   several proxies do not all hit the first host together); inject `random` to make it deterministic.
 *   When membership changes, the rotation continues after the host picked last, so nobody is picked
 *   twice in a row or skipped because the list was reshuffled.
 * - Different weights: Envoy's EDF schedule. Host h is due at k / weight(h) for its k-th pick, so 3:1
 *   gives a,a,b,a,... and exactly weight-proportional counts over each period (deadlines are exact:
 *   equal fractions divide to equal doubles). A membership change rebuilds the schedule (as Envoy does),
 *   then skips a random number (< host count) of picks to de-synchronise proxies.
 */
export class RoundRobinLoadBalancer implements LoadBalancer {
  private hosts: readonly Host[] = [];
  private cursor = 0;
  private last: Host | null = null;
  private weighted = false;
  private readonly edf = new EdfScheduler();

  constructor(private readonly random: RandomSource = Math.random) {}

  setHosts(hosts: readonly Host[]): void {
    const previous = this.hosts;
    this.hosts = hosts;
    this.weighted = weightsDiffer(hosts);
    if (this.weighted) {
      this.edf.reset(hosts, (h) => 1 / h.weight);
      for (let skip = randomIndex(this.random, hosts.length); skip > 0; skip--) this.chooseWeighted();
      return;
    }
    const n = hosts.length;
    if (n === 0) return;
    if (this.last === null) {
      this.cursor = randomIndex(this.random, n);
      return;
    }
    // Continue after the host picked last; if it left, with the host that was due next.
    const at = hosts.indexOf(this.last);
    if (at >= 0) {
      this.cursor = at + 1 === n ? 0 : at + 1;
      return;
    }
    const due = previous[this.cursor];
    const dueAt = due === undefined ? -1 : hosts.indexOf(due);
    this.cursor = dueAt >= 0 ? dueAt : this.cursor % n;
  }

  choose(): Host | null {
    if (this.weighted) return this.chooseWeighted();
    const n = this.hosts.length;
    if (n === 0) return null;
    if (this.cursor >= n) this.cursor = 0;
    const host = this.hosts[this.cursor]!;
    this.cursor = this.cursor + 1 === n ? 0 : this.cursor + 1;
    this.last = host;
    return host;
  }

  private chooseWeighted(): Host | null {
    const top = this.edf.top();
    if (top === undefined) return null;
    top.picks++;
    this.edf.rescheduleTop((top.picks + 1) / top.host.weight);
    this.last = top.host;
    return top.host;
  }
}
