import type { ClusterConfig, EndpointConfig } from "../config/model.js";
import { BaseCluster, type ClusterDeps } from "./base_cluster.js";
import type { Resolver } from "./resolver.js";

/**
 * What the DNS cluster types share: each of `names` is resolved at `initialize()` and again
 * `dns_refresh_rate` after its previous answer (never in the request path). Stats `update_attempt`,
 * `update_success`, `update_failure` count lookups. A failed lookup changes nothing (the current
 * hosts stay); a successful one, even empty, goes to `answered()`.
 */
export abstract class DnsCluster extends BaseCluster {
  private readonly timers: Array<NodeJS.Timeout | null>;
  private started = false;

  constructor(
    config: ClusterConfig,
    deps: ClusterDeps,
    private readonly resolver: Resolver,
    /** The endpoints whose `address.address` is a DNS name to follow. */
    protected readonly names: readonly EndpointConfig[],
  ) {
    super(config, deps);
    this.timers = names.map(() => null);
  }

  /** The first resolution of every name; resolves (never rejects) once each has answered or failed. */
  async initialize(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await Promise.all(this.names.map((_, i) => this.resolve(i)));
  }

  /** A successful answer for `names[index]` (the cluster is not closed). */
  protected abstract answered(index: number, addresses: string[]): void;

  protected stopDiscovery(): void {
    for (let i = 0; i < this.timers.length; i++) {
      const timer = this.timers[i];
      if (timer) clearTimeout(timer);
      this.timers[i] = null;
    }
  }

  private async resolve(index: number): Promise<void> {
    const endpoint = this.names[index];
    if (endpoint === undefined) return;
    this.stats.update_attempt.inc();
    let addresses: string[];
    try {
      addresses = await this.resolver(endpoint.address.address, this.config.dnsLookupFamily);
    } catch {
      if (this.closed) return;
      this.stats.update_failure.inc();
      this.schedule(index);
      return;
    }
    if (this.closed) return;
    this.stats.update_success.inc();
    this.answered(index, addresses);
    this.schedule(index);
  }

  private schedule(index: number): void {
    const timer = setTimeout(() => {
      this.timers[index] = null;
      void this.resolve(index);
    }, this.config.dnsRefreshRateMs);
    timer.unref();
    this.timers[index] = timer;
  }
}
