import type { ClusterConfig, EndpointConfig } from "../config/model.js";
import { BaseCluster, type ClusterDeps } from "./base_cluster.js";
import type { DnsSource } from "./dns_feed.js";
import { serversResolver } from "./dns_resolvers.js";
import type { Resolver } from "./resolver.js";

/**
 * What the DNS cluster types share: each of `names` is resolved at `initialize()` and again
 * `dns_refresh_rate` after its previous answer (never in the request path). Stats `update_attempt`,
 * `update_success`, `update_failure` count lookups. A failed lookup changes nothing (the current
 * hosts stay); a successful one, even empty, goes to `answered()`.
 *
 * A cluster of a worker process follows the primary's lookups instead (`source.kind === "follow"`):
 * it resolves nothing and counts no lookup (the primary does, once), and `initialize()` waits for
 * the first outcome of each name.
 *
 * A cluster with its own DNS servers (`config.dnsResolvers`) asks them instead of the source's
 * resolver (the system's, or `--dns-map`), as each Envoy cluster gets its own c-ares channel.
 */
export abstract class DnsCluster extends BaseCluster {
  private readonly timers: Array<NodeJS.Timeout | null>;
  private started = false;
  /** Where this cluster's names are looked up (null: it follows a feed). */
  private readonly resolver: Resolver | null;

  constructor(
    config: ClusterConfig,
    deps: ClusterDeps,
    private readonly source: DnsSource,
    /** The endpoints whose `address.address` is a DNS name to follow. */
    protected readonly names: readonly EndpointConfig[],
  ) {
    super(config, deps);
    this.timers = names.map(() => null);
    if (source.kind === "follow") this.resolver = null;
    else if (config.dnsResolvers.length > 0) this.resolver = serversResolver(config.dnsResolvers);
    else this.resolver = source.resolver;
  }

  /** The first resolution of every name; resolves (never rejects) once each has answered or failed. */
  async initialize(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const source = this.source;
    if (source.kind === "follow") {
      await Promise.all(this.names.map((_, i) => this.follow(source.feed, i)));
      return;
    }
    await Promise.all(this.names.map((_, i) => this.resolve(i)));
  }

  /** Take `names[index]`'s outcomes from the feed; resolves at the first one. */
  private follow(feed: Extract<DnsSource, { kind: "follow" }>["feed"], index: number): Promise<void> {
    return new Promise((resolve) => {
      feed.subscribe(this.name, index, (addresses) => {
        if (addresses !== null && !this.closed) this.answered(index, addresses);
        resolve();
      });
    });
  }

  /** A successful answer for `names[index]` (the cluster is not closed). */
  protected abstract answered(index: number, addresses: string[]): void;

  protected stopDiscovery(): void {
    if (this.source.kind === "follow") {
      for (let i = 0; i < this.names.length; i++) this.source.feed.unsubscribe(this.name, i);
    }
    for (let i = 0; i < this.timers.length; i++) {
      const timer = this.timers[i];
      if (timer) clearTimeout(timer);
      this.timers[i] = null;
    }
  }

  private async resolve(index: number): Promise<void> {
    const endpoint = this.names[index];
    const source = this.source;
    if (endpoint === undefined || source.kind !== "resolve" || this.resolver === null) return;
    this.stats.update_attempt.inc();
    let addresses: string[];
    try {
      addresses = await this.resolver(endpoint.address.address, this.config.dnsLookupFamily);
    } catch {
      if (this.closed) return;
      this.stats.update_failure.inc();
      source.onOutcome?.({ cluster: this.name, index, addresses: null });
      this.schedule(index);
      return;
    }
    if (this.closed) return;
    this.stats.update_success.inc();
    source.onOutcome?.({ cluster: this.name, index, addresses });
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
