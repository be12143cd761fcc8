import type { ConnPool } from "../api/upstream.js";
import { circuitBreakersOf } from "../config/cluster.js";
import type { ClusterConfig } from "../config/model.js";
import { createLoadBalancer, type LoadBalancer, type RandomSource } from "../load_balancer/index.js";
import { createUpstreamTls } from "../tls/client.js";
import type { Cluster } from "./cluster.js";
import type { HealthCheckStats, OutlierDetectionStats, RemainingStats } from "./cluster_stats.js";
import { HealthChecker } from "./health_checker.js";
import type { ClusterStats, Host } from "./host.js";
import { OutlierDetector } from "./outlier_detection.js";
import { ResourceManager } from "./resource_manager.js";

/** Builds the connection pool of one host (proxy/conn_pool's `createConnPool`). */
export type PoolFactory = (host: Host, cluster: ClusterConfig, stats: ClusterStats) => ConnPool;

export interface ClusterDeps {
  stats: ClusterStats;
  createPool: PoolFactory;
  random: RandomSource;
  /** `cluster.<name>.outlier_detection.*`, for a cluster with `outlier_detection` (else null). */
  outlierStats: OutlierDetectionStats | null;
  /** `circuit_breakers.default.remaining_*`, for DEFAULT thresholds with `track_remaining` (else absent). */
  remainingStats?: RemainingStats | null;
  /** `cluster.<name>.health_check.*`, for a cluster with an applied `health_checks` entry (else absent). */
  healthCheckStats?: HealthCheckStats | null;
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
  /** Its `outlier_detection`, fed by the router; null without one. */
  readonly outlierDetector: OutlierDetector | null;
  /** Its active health checker (`health_checks`); null without one. */
  readonly healthChecker: HealthChecker | null;
  protected closed = false;
  /** `healthy_panic_threshold` in percent (Envoy rounds the Percent to an integer). */
  private readonly panicThreshold: number;
  /** Too few healthy hosts: the balancer has every member (Envoy's panic mode). */
  private panic = false;
  /** Current members, not draining. */
  private active: Host[] = [];
  /** Pools of members that turned unhealthy, finishing their requests (destroyed on close). */
  private readonly unhealthyPools = new Set<ConnPool>();
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
    this.resources = new ResourceManager(
      circuitBreakersOf(config).default,
      deps.stats,
      deps.remainingStats ?? null,
    );
    this.createPool = deps.createPool;
    this.lb = createLoadBalancer(config.lbPolicy, {
      random: deps.random,
      choiceCount: config.leastRequestChoiceCount,
    });
    const outlier = config.outlierDetection;
    this.outlierDetector =
      outlier === undefined || deps.outlierStats === null
        ? null
        : new OutlierDetector(outlier, deps.outlierStats, {
            onHostChange: (host) => this.hostHealthChanged(host),
            random: deps.random,
          });
    this.outlierDetector?.start();
    this.panicThreshold = Math.min(100, Math.round(config.healthyPanicThreshold ?? 50));
    const hc = config.healthCheck;
    this.healthChecker =
      hc === undefined || deps.healthCheckStats == null
        ? null
        : new HealthChecker(hc, {
            clusterName: config.name,
            connectTimeoutMs: config.connectTimeoutMs,
            stats: deps.healthCheckStats,
            random: deps.random,
            hadTraffic: () => this.stats.upstream_cx_total.value > 0,
            onHostChange: (host) => this.hostHealthChanged(host),
            onHealthyCheck: (host) => this.outlierDetector?.successfulActiveHealthCheck(host),
            tls:
              config.tls === undefined || deps.stats.ssl === null
                ? null
                : createUpstreamTls(config.tls, hc.http?.http2 ? "http2" : "http1", deps.stats.ssl),
          });
  }

  /**
   * Starts the health checker (at the cluster manager's initialization, after discovery) and resolves
   * once every host had its first check, as Envoy's cluster initialization waits for it.
   */
  startHealthChecks(): Promise<void> {
    return this.healthChecker?.start() ?? Promise.resolve();
  }

  abstract initialize(): Promise<void>;

  chooseHost(): Host | null {
    let host = this.lb.choose();
    if (host !== null && (host.draining || (!host.healthy && !this.panic))) {
      // A host's health was changed without telling us: rebuild the eligible set once.
      this.refreshLoadBalancer();
      host = this.lb.choose();
    }
    if (this.panic) this.stats.lb_healthy_panic.value++;
    return host;
  }

  pool(host: Host): ConnPool {
    let pool = this.pools.get(host);
    if (pool === undefined) {
      pool = this.createPool(host, this.config, this.stats);
      this.pools.set(host, pool);
    }
    return pool;
  }

  /**
   * Re-read `healthy`/`draining` of every member (call after changing a host's health). The balancer
   * gets the healthy members, or all of them in panic mode (`inPanic`).
   */
  refreshLoadBalancer(): void {
    const members = this.active.filter((h) => !h.draining);
    const healthy = members.filter((h) => h.healthy);
    this.panic = inPanic(healthy.length, members.length, this.panicThreshold);
    this.lb.setHosts(this.panic ? members : healthy);
    this.stats.membership_total.set(this.active.length);
    this.stats.membership_healthy.set(healthy.length);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopDiscovery();
    this.outlierDetector?.close();
    this.healthChecker?.close();
    for (const pool of this.pools.values()) pool.destroy();
    for (const pool of this.unhealthyPools) pool.destroy();
    this.pools.clear();
    this.unhealthyPools.clear();
    this.draining.clear();
    this.active = [];
    this.hosts = [];
    this.lb.setHosts([]);
  }

  /**
   * Health checking or outlier detection changed `host`'s flags. A host that turned unhealthy has
   * its connections drained, as Envoy's `onHostHealthFailure` does (DrainExistingConnections): idle
   * ones close now, busy ones after their request; if the host serves again (panic mode, or once
   * healthy), it does so on new connections.
   */
  private hostHealthChanged(host: Host): void {
    if (!host.healthy) {
      const pool = this.pools.get(host);
      if (pool !== undefined) {
        this.pools.delete(host);
        this.unhealthyPools.add(pool);
        const done = (): void => {
          this.unhealthyPools.delete(pool);
        };
        pool.drain().then(done, done);
      }
    }
    this.refreshLoadBalancer();
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
    this.outlierDetector?.setHosts(next);
    this.healthChecker?.setHosts(next);
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

/**
 * Envoy's panic test for one priority (`LoadBalancerBase::recalculatePerPriorityPanic`): never when
 * the priority's availability, min(100, 140% overprovisioning x healthy / hosts), is 100; otherwise
 * when the healthy share is below `threshold` percent. So 0 healthy hosts is panic (unless the
 * threshold is 0), 1 of 2 at 50% is not, and 3 of 4 at 80% is not either (availability 105 -> 100).
 */
export function inPanic(healthy: number, total: number, threshold: number): boolean {
  const availability = total === 0 ? 0 : Math.min(100, Math.floor((140 * healthy) / total));
  if (availability === 100) return false;
  const healthyPercent = total === 0 ? 0 : (100 * healthy) / total;
  return healthyPercent < threshold;
}
