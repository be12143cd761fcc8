import { circuitBreakersOf } from "../config/cluster.js";
import type { ClusterConfig } from "../config/model.js";
import type { RandomSource } from "../load_balancer/index.js";
import type { StatsStore } from "../stats/store.js";
import type { ClusterDeps, PoolFactory } from "./base_cluster.js";
import type { Cluster, ClusterManager } from "./cluster.js";
import {
  createClusterManagerStats,
  createClusterStats,
  createHealthCheckStats,
  createOutlierDetectionStats,
  createRemainingStats,
  type RemainingStats,
} from "./cluster_stats.js";
import type { DnsFeed, DnsOutcome, DnsSource } from "./dns_feed.js";
import { LogicalDnsCluster } from "./logical_dns_cluster.js";
import { type Resolver, systemResolver } from "./resolver.js";
import { StaticCluster } from "./static_cluster.js";
import { StrictDnsCluster } from "./strict_dns_cluster.js";

export type { PoolFactory } from "./base_cluster.js";
export { DnsFeed, type DnsOutcome } from "./dns_feed.js";
export type { Resolver } from "./resolver.js";

export interface ClusterManagerOptions {
  stats: StatsStore;
  /** One pool per host: proxy/conn_pool's `createConnPool` (injected, so tests can use fakes). */
  createPool: PoolFactory;
  /** DNS for strict_dns/logical_dns clusters; default: the system resolver (`dns.lookup`). */
  resolver?: Resolver;
  /** Random source of the load balancers (round robin start, P2C, random); default Math.random. */
  random?: RandomSource;
  /** A worker process: DNS clusters follow the primary's lookups from this feed instead of resolving. */
  dnsFeed?: DnsFeed;
  /** Hears every DNS outcome of this manager's clusters (the primary passes them to the workers). */
  onDnsOutcome?: (o: DnsOutcome) => void;
  /** false: no active health checking (the primary's DNS-only clusters; its workers check). Default true. */
  healthChecks?: boolean;
}

/**
 * Owns every cluster. `initialize()` resolves every DNS cluster once before the proxy serves: a name
 * that fails to resolve leaves its cluster empty (requests get 503 "no healthy upstream"), never a crash.
 */
export class ClusterManagerImpl implements ClusterManager {
  private readonly byName = new Map<string, Cluster>();
  private readonly clusters: Cluster[] = [];

  constructor(
    configs: readonly ClusterConfig[],
    private readonly opts: ClusterManagerOptions,
  ) {
    const source: DnsSource =
      opts.dnsFeed !== undefined
        ? { kind: "follow", feed: opts.dnsFeed }
        : {
            kind: "resolve",
            resolver: opts.resolver ?? systemResolver,
            onOutcome: opts.onDnsOutcome ?? null,
          };
    const random = opts.random ?? Math.random;
    for (const config of configs) {
      const deps: ClusterDeps = {
        stats: createClusterStats(opts.stats, config.name, config.tls !== undefined),
        createPool: opts.createPool,
        random,
        outlierStats:
          config.outlierDetection === undefined ? null : createOutlierDetectionStats(opts.stats, config.name),
        remainingStats: remainingStats(opts.stats, config),
        healthCheckStats:
          config.healthCheck === undefined || opts.healthChecks === false
            ? null
            : createHealthCheckStats(opts.stats, config.name),
      };
      const cluster = build(config, deps, source);
      this.byName.set(config.name, cluster);
      this.clusters.push(cluster);
    }
    createClusterManagerStats(opts.stats).active_clusters.set(this.clusters.length);
  }

  get(name: string): Cluster | undefined {
    return this.byName.get(name);
  }

  all(): readonly Cluster[] {
    return this.clusters;
  }

  /** Discovery first (DNS), then the first health check of every host, as Envoy initializes a cluster. */
  async initialize(): Promise<void> {
    await Promise.all(this.clusters.map((c) => c.initialize().then(() => c.startHealthChecks())));
  }

  async close(): Promise<void> {
    const retiring = [...this.retiring];
    this.retiring.clear();
    await Promise.all([...this.clusters, ...retiring].map((c) => c.close()));
  }

  /**
   * A reload (proxy/server/reload.ts): a cluster whose config is unchanged is kept (hosts, health,
   * pools, stats); a changed or new one is built and initialized (DNS resolved: Envoy's warming)
   * before it takes the name; a replaced or removed one takes no new request and its pools drain for
   * at most `drainMs` before it closes. The caller counts `cluster_added`/`_modified`/`_removed`
   * (once per proxy, with N worker processes too).
   */
  async update(configs: readonly ClusterConfig[], drainMs: number): Promise<ClusterUpdate> {
    const changed = configs.filter((c) => {
      const old = this.byName.get(c.name);
      return old === undefined || configKey(old.config) !== configKey(c);
    });
    const stats = createClusterManagerStats(this.opts.stats);
    stats.warming_clusters.set(changed.length);
    const warming = new ClusterManagerImpl(changed, this.opts);
    await warming.initialize();
    stats.warming_clusters.set(0);
    const outcome: ClusterUpdate = { added: [], modified: [], removed: [] };
    const retired: Cluster[] = [];
    const names = new Set(configs.map((c) => c.name));
    for (const old of this.clusters) {
      if (!names.has(old.name)) {
        retired.push(old);
        outcome.removed.push(old.name);
      }
    }
    for (const c of warming.all()) {
      const old = this.byName.get(c.name);
      if (old === undefined) outcome.added.push(c.name);
      else {
        retired.push(old);
        outcome.modified.push(c.name);
      }
      this.byName.set(c.name, c);
    }
    for (const name of outcome.removed) this.byName.delete(name);
    this.clusters.length = 0;
    for (const c of configs) this.clusters.push(this.byName.get(c.name) as Cluster);
    stats.active_clusters.set(this.clusters.length);
    for (const old of retired) void this.retire(old, drainMs);
    return outcome;
  }

  /** Replaced or removed clusters whose pools are still draining (closed by `close()` too). */
  private readonly retiring = new Set<Cluster>();

  /** A retired cluster: its pools finish what they carry (at most `ms`), then it closes. */
  private async retire(cluster: Cluster, ms: number): Promise<void> {
    this.retiring.add(cluster);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      timer.unref();
    });
    await Promise.race([Promise.allSettled(cluster.hosts.map((h) => cluster.pool(h).drain())), deadline]);
    clearTimeout(timer);
    if (this.retiring.delete(cluster)) await cluster.close();
  }
}

/** What a reload did to the clusters, by name. */
export interface ClusterUpdate {
  added: string[];
  modified: string[];
  removed: string[];
}

/** A cluster's config as comparable text (Envoy compares the proto's hash). */
function configKey(config: ClusterConfig): string {
  return JSON.stringify(config, (_key, value: unknown) => {
    if (value instanceof RegExp) return `/${value.source}/${value.flags}`;
    if (value instanceof Map) return Object.fromEntries(value);
    if (value instanceof Set) return [...value];
    return value;
  });
}

export function createClusterManager(
  configs: readonly ClusterConfig[],
  opts: ClusterManagerOptions,
): ClusterManager {
  return new ClusterManagerImpl(configs, opts);
}

/**
 * The DEFAULT priority's `remaining_*` gauges when its thresholds set `track_remaining`; the HIGH
 * priority's, which no route uses, are set to its limits once (Envoy shows them so).
 */
function remainingStats(store: StatsStore, config: ClusterConfig): RemainingStats | null {
  const { default: d, high } = circuitBreakersOf(config);
  if (high.trackRemaining) {
    const h = createRemainingStats(store, config.name, "high");
    h.remaining_cx.set(high.maxConnections);
    h.remaining_pending.set(high.maxPendingRequests);
    h.remaining_rq.set(high.maxRequests);
    h.remaining_retries.set(high.maxRetries);
  }
  return d.trackRemaining ? createRemainingStats(store, config.name, "default") : null;
}

function build(config: ClusterConfig, deps: ClusterDeps, source: DnsSource): Cluster {
  switch (config.type) {
    case "static":
      return new StaticCluster(config, deps);
    case "strict_dns":
      return new StrictDnsCluster(config, deps, source);
    case "logical_dns":
      return new LogicalDnsCluster(config, deps, source);
  }
}
