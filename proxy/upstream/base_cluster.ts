import type { ConnPool } from "../api/upstream.js";
import { circuitBreakersOf } from "../config/cluster.js";
import type { ClusterConfig } from "../config/model.js";
import { createLoadBalancer, type LoadBalancer, type RandomSource } from "../load_balancer/index.js";
import type { Cluster } from "./cluster.js";
import type { ClusterStats, Host } from "./host.js";
import { ResourceManager } from "./resource_manager.js";

/** Builds the connection pool of one host (proxy/conn_pool's `createConnPool`). */
export type PoolFactory = (host: Host, cluster: ClusterConfig, stats: ClusterStats) => ConnPool;

export interface ClusterDeps {
  stats: ClusterStats;
  createPool: PoolFactory;
  random: RandomSource;
}

/**
 * What every cluster type shares: membership, the load balancer, one pool per host, draining.
 * Subclasses only discover hosts and call `updateMembership()`.
 *
 * Membership changes (rare) rebuild the eligible-host array and hand it to the load balancer, so
 * `chooseHost()` (per request) allocates nothing.
 */
export abstract class BaseCluster implements Cluster {
  readonly name: string;
  readonly stats: ClusterStats;
  /** The circuit breakers every host of this cluster hands its pool. */
  readonly resources: ResourceManager;
  hosts: readonly Host[] = [];
  protected closed = false;
  /** Current members, not draining. */
  private active: Host[] = [];
  /** Removed members whose pool is still draining. */
  private readonly draining = new Set<Host>();
  /** One pool per host (per Host object: members have unique `key`s, a re-added address is a new Host). */
  private readonly pools = new Map<Host, ConnPool>();
  private readonly lb: LoadBalancer;
  private readonly createPool: PoolFactory;

  constructor(
    readonly config: ClusterConfig,
    deps: ClusterDeps,
  ) {
    this.name = config.name;
    this.stats = deps.stats;
    this.resources = new ResourceManager(circuitBreakersOf(config).default, deps.stats);
    this.createPool = deps.createPool;
    this.lb = createLoadBalancer(config.lbPolicy, {
      random: deps.random,
      choiceCount: config.leastRequestChoiceCount,
    });
  }

  abstract initialize(): Promise<void>;

  chooseHost(): Host | null {
    const host = this.lb.choose();
    if (host === null || (host.healthy && !host.draining)) return host;
    // A host's health was changed without telling us: rebuild the eligible set once.
    this.refreshLoadBalancer();
    return this.lb.choose();
  }

  pool(host: Host): ConnPool {
    let pool = this.pools.get(host);
    if (pool === undefined) {
      pool = this.createPool(host, this.config, this.stats);
      this.pools.set(host, pool);
    }
    return pool;
  }

  /** Re-read `healthy`/`draining` of every member (call after changing a host's health). */
  refreshLoadBalancer(): void {
    const eligible = this.active.filter((h) => h.healthy && !h.draining);
    this.lb.setHosts(eligible);
    this.stats.membership_total.set(this.active.length);
    this.stats.membership_healthy.set(eligible.length);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopDiscovery();
    for (const pool of this.pools.values()) pool.destroy();
    this.pools.clear();
    this.draining.clear();
    this.active = [];
    this.hosts = [];
    this.lb.setHosts([]);
  }

  /** Stop timers of the discovery mechanism. */
  protected abstract stopDiscovery(): void;

  /** The current member with this `address:port`, to keep Host identity (stats, pool) across updates. */
  protected member(key: string): Host | undefined {
    for (const h of this.active) if (h.key === key) return h;
    return undefined;
  }

  /**
   * Replace the membership. Hosts no longer present are marked draining and leave the load balancer
   * at once; their pool is drained and the host disappears from `hosts` once it is.
   */
  protected updateMembership(next: Host[]): void {
    if (this.closed) return;
    const keep = new Set(next);
    for (const host of this.active) if (!keep.has(host)) this.retire(host);
    this.active = next;
    this.refreshLoadBalancer();
    this.publishHosts();
  }

  private retire(host: Host): void {
    host.draining = true;
    const pool = this.pools.get(host);
    if (pool === undefined) return;
    this.draining.add(host);
    const done = (): void => {
      if (this.pools.get(host) === pool) this.pools.delete(host);
      if (this.draining.delete(host)) this.publishHosts();
    };
    pool.drain().then(done, done);
  }

  private publishHosts(): void {
    this.hosts = this.draining.size === 0 ? this.active : [...this.active, ...this.draining];
  }
}
