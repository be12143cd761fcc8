import type { ConnPool } from "../api/upstream.js";
import type { ClusterConfig } from "../config/model.js";
import type { ClusterStats, Host } from "./host.js";
import type { OutlierDetector } from "./outlier_detection.js";
import type { ResourceManager } from "./resource_manager.js";

/**
 * A running cluster: its hosts (from static config or DNS), its load balancer and its pools.
 * The router asks `chooseHost()` then `pool(host)`; it never sees discovery.
 */
export interface Cluster {
  readonly name: string;
  readonly config: ClusterConfig;
  readonly stats: ClusterStats;
  /** Its circuit breakers (DEFAULT priority), shared with the pools of its hosts. */
  readonly resources: ResourceManager;
  /** Current membership, including draining hosts (the admin shows them). */
  readonly hosts: readonly Host[];
  /** Its outlier detection (`outlier_detection`), which the router tells each try's outcome; null without. */
  readonly outlierDetector: OutlierDetector | null;
  /** Pick a host with the cluster's load balancer among healthy, non-draining hosts; null if none. */
  chooseHost(): Host | null;
  /** The connection pool for a host, created on first use. */
  pool(host: Host): ConnPool;
  /** Resolve DNS once (strict/logical DNS) and start refreshing. */
  initialize(): Promise<void>;
  /** Start active health checking; resolves once every host had its first check (at once without). */
  startHealthChecks(): Promise<void>;
  /** Stop timers, drain and destroy pools. */
  close(): Promise<void>;
}

export interface ClusterManager {
  get(name: string): Cluster | undefined;
  all(): readonly Cluster[];
  initialize(): Promise<void>;
  close(): Promise<void>;
}
