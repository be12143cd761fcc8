import type { ClusterConfig } from "../config/model.js";
import { BaseCluster, type ClusterDeps } from "./base_cluster.js";
import { Host } from "./host.js";
import type { Resolver } from "./resolver.js";

/**
 * LOGICAL_DNS: one host, at the FIRST address of the (first) configured name, re-resolved every
 * `dns_refresh_rate`. When the first address changes, later connections go to the new one: the old
 * host leaves the load balancer and its pool drains (requests in flight finish; Envoy would even keep
 * reusing those connections). An empty answer or a failed lookup keeps the current address.
 */
export class LogicalDnsCluster extends BaseCluster {
  private timer: NodeJS.Timeout | null = null;
  private current: Host | null = null;
  private started = false;

  constructor(
    config: ClusterConfig,
    deps: ClusterDeps,
    private readonly resolver: Resolver,
  ) {
    super(config, deps);
  }

  async initialize(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.resolve();
  }

  protected stopDiscovery(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private async resolve(): Promise<void> {
    const ep = this.config.endpoints[0];
    if (ep === undefined) return;
    this.stats.update_attempt.inc();
    let addresses: string[];
    try {
      addresses = await this.resolver(ep.address.address, this.config.dnsLookupFamily);
    } catch {
      if (this.closed) return;
      this.stats.update_failure.inc();
      this.schedule();
      return;
    }
    if (this.closed) return;
    this.stats.update_success.inc();
    const first = addresses[0];
    if (first !== undefined && first !== this.current?.address) {
      this.current = new Host(first, ep.address.port, ep.weight, ep.hostname ?? ep.address.address);
      this.updateMembership([this.current]);
    }
    this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.resolve();
    }, this.config.dnsRefreshRateMs);
    this.timer.unref();
  }
}
