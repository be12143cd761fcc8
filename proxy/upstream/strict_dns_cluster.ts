import type { ClusterConfig, EndpointConfig } from "../config/model.js";
import { BaseCluster, type ClusterDeps } from "./base_cluster.js";
import { Host } from "./host.js";
import type { Resolver } from "./resolver.js";

/** One configured DNS name and the hosts its last successful answer gave. */
interface Target {
  readonly endpoint: EndpointConfig;
  hosts: Host[];
  timer: NodeJS.Timeout | null;
}

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
export class StrictDnsCluster extends BaseCluster {
  private readonly targets: Target[];
  private started = false;

  constructor(
    config: ClusterConfig,
    deps: ClusterDeps,
    private readonly resolver: Resolver,
  ) {
    super(config, deps);
    this.targets = config.endpoints.map((endpoint) => ({ endpoint, hosts: [], timer: null }));
  }

  /** The first resolution of every name; resolves (never rejects) once each has answered or failed. */
  async initialize(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await Promise.all(this.targets.map((t) => this.resolve(t)));
  }

  protected stopDiscovery(): void {
    for (const t of this.targets) {
      if (t.timer !== null) clearTimeout(t.timer);
      t.timer = null;
    }
  }

  private async resolve(target: Target): Promise<void> {
    const name = target.endpoint.address.address;
    this.stats.update_attempt.inc();
    let addresses: string[];
    try {
      addresses = await this.resolver(name, this.config.dnsLookupFamily);
    } catch {
      if (this.closed) return;
      this.stats.update_failure.inc();
      this.schedule(target);
      return;
    }
    if (this.closed) return;
    this.stats.update_success.inc();
    target.hosts = this.hostsFor(target.endpoint, addresses);
    this.updateMembership(this.union());
    this.schedule(target);
  }

  private schedule(target: Target): void {
    target.timer = setTimeout(() => {
      target.timer = null;
      void this.resolve(target);
    }, this.config.dnsRefreshRateMs);
    target.timer.unref();
  }

  /** Hosts for one answer, reusing current members (same `address:port`) so stats and pools survive. */
  private hostsFor(ep: EndpointConfig, addresses: readonly string[]): Host[] {
    const hosts: Host[] = [];
    const seen = new Set<string>();
    for (const address of addresses) {
      const fresh = new Host(address, ep.address.port, ep.weight, ep.hostname ?? ep.address.address);
      if (seen.has(fresh.key)) continue;
      seen.add(fresh.key);
      hosts.push(this.member(fresh.key) ?? fresh);
    }
    return hosts;
  }

  private union(): Host[] {
    const all: Host[] = [];
    const seen = new Set<string>();
    for (const t of this.targets) {
      for (const h of t.hosts) {
        if (seen.has(h.key)) continue;
        seen.add(h.key);
        all.push(h);
      }
    }
    return all;
  }
}
