import type { ClusterConfig } from "../config/model.js";
import type { RandomSource } from "../load_balancer/index.js";
import type { StatsStore } from "../stats/store.js";
import type { ClusterDeps, PoolFactory } from "./base_cluster.js";
import type { Cluster, ClusterManager } from "./cluster.js";
import { createClusterManagerStats, createClusterStats } from "./cluster_stats.js";
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
}

/**
 * Owns every cluster. `initialize()` resolves every DNS cluster once before the proxy serves: a name
 * that fails to resolve leaves its cluster empty (requests get 503 "no healthy upstream"), never a crash.
 */
export class ClusterManagerImpl implements ClusterManager {
  private readonly byName = new Map<string, Cluster>();
  private readonly clusters: Cluster[] = [];

  constructor(configs: readonly ClusterConfig[], opts: ClusterManagerOptions) {
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
        stats: createClusterStats(opts.stats, config.name),
        createPool: opts.createPool,
        random,
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

  async initialize(): Promise<void> {
    await Promise.all(this.clusters.map((c) => c.initialize()));
  }

  async close(): Promise<void> {
    await Promise.all(this.clusters.map((c) => c.close()));
  }
}

export function createClusterManager(
  configs: readonly ClusterConfig[],
  opts: ClusterManagerOptions,
): ClusterManager {
  return new ClusterManagerImpl(configs, opts);
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
