import type { ClusterConfig } from "../config/model.js";
import type { ClusterDeps } from "./base_cluster.js";
import { DnsCluster } from "./dns_cluster.js";
import type { DnsSource } from "./dns_feed.js";
import { Host } from "./host.js";

/**
 * LOGICAL_DNS: one host, at the FIRST address of the (first) configured name, re-resolved every
 * `dns_refresh_rate`. When the first address changes, later connections go to the new one: the old
 * host leaves the load balancer and its pool drains (requests in flight finish; Envoy would even keep
 * reusing those connections). An empty answer or a failed lookup keeps the current address.
 */
export class LogicalDnsCluster extends DnsCluster {
  private current: Host | null = null;

  constructor(config: ClusterConfig, deps: ClusterDeps, source: DnsSource) {
    super(config, deps, source, config.endpoints.slice(0, 1));
  }

  protected answered(_index: number, addresses: string[]): void {
    const ep = this.names[0];
    const first = addresses[0];
    if (ep === undefined || first === undefined || first === this.current?.address) return;
    this.current = new Host(
      first,
      ep.address.port,
      ep.weight,
      ep.hostname ?? ep.address.address,
      this.resources,
    );
    this.updateMembership([this.current]);
  }
}
