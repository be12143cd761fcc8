import type { ClusterConfig, EndpointConfig } from "../config/model.js";
import type { ClusterDeps } from "./base_cluster.js";
import { DnsCluster } from "./dns_cluster.js";
import type { DnsSource } from "./dns_feed.js";
import { Host } from "./host.js";

/**
 * STRICT_DNS: every configured name is resolved every `dns_refresh_rate` (after the previous answer,
 * never in the request path) and EVERY returned address is a host.
 *
 * - Duplicate addresses collapse into one host (within a name, and across names: the first name's
 *   weight wins; Envoy would keep one host per name).
 * - An address that disappears: its host is marked draining, leaves the load balancer at once, and its
 *   pool is drained; it leaves `hosts` when the pool has drained.
 * - A successful answer with no address empties that name's hosts; a failed lookup keeps them.
 * - Stats `update_attempt`, `update_success`, `update_failure` count lookups; `membership_*` gauges.
 * - `respect_dns_ttl` is not applied: the injected resolver returns no TTL, so the refresh rate rules.
 */
export class StrictDnsCluster extends DnsCluster {
  /** The hosts of each name's last successful answer (same order as `names`). */
  private readonly hostsByName: Host[][];

  constructor(config: ClusterConfig, deps: ClusterDeps, source: DnsSource) {
    super(config, deps, source, config.endpoints);
    this.hostsByName = config.endpoints.map(() => []);
  }

  protected answered(index: number, addresses: string[]): void {
    const ep = this.names[index];
    if (ep === undefined) return;
    this.hostsByName[index] = this.hostsFor(ep, addresses);
    this.updateMembership(this.union());
  }

  /** Hosts for one answer, reusing current members (same `address:port`) so stats and pools survive. */
  private hostsFor(ep: EndpointConfig, addresses: readonly string[]): Host[] {
    const hosts: Host[] = [];
    const seen = new Set<string>();
    for (const address of addresses) {
      const fresh = new Host(
        address,
        ep.address.port,
        ep.weight,
        ep.hostname ?? ep.address.address,
        this.resources,
      );
      if (seen.has(fresh.key)) continue;
      seen.add(fresh.key);
      hosts.push(this.member(fresh.key) ?? fresh);
    }
    return hosts;
  }

  private union(): Host[] {
    const all: Host[] = [];
    const seen = new Set<string>();
    for (const hosts of this.hostsByName) {
      for (const h of hosts) {
        if (seen.has(h.key)) continue;
        seen.add(h.key);
        all.push(h);
      }
    }
    return all;
  }
}
