import type { ClusterConfig, EndpointConfig } from "../config/model.js";
import { BaseCluster, type ClusterDeps } from "./base_cluster.js";
import type { DnsSource } from "./dns_feed.js";

/**
 * What the DNS cluster types share: each of `names` is resolved at `initialize()` and again
 * `dns_refresh_rate` after its previous answer (never in the request path). Stats `update_attempt`,
 * `update_success`, `update_failure` count lookups. A failed lookup changes nothing (the current
 * hosts stay); a successful one, even empty, goes to `answered()`.
 *
 * A cluster of a worker process follows the primary's lookups instead (`source.kind === "follow"`):
 * it resolves nothing and counts no lookup (the primary does, once), and `initialize()` waits for
 * the first outcome of each name.
 */
export abstract class DnsCluster extends BaseCluster {
  private readonly timers: Array<NodeJS.Timeout | null>;
  private started = false;

  constructor(
    config: ClusterConfig,
    deps: ClusterDeps,
    private readonly source: DnsSource,
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
    if (endpoint === undefined || source.kind !== "resolve") return;
    this.stats.update_attempt.inc();
    let addresses: string[];
    try {
      addresses = await source.resolver(endpoint.address.address, this.config.dnsLookupFamily);
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
