import { CIRCUIT_BREAKER_DEFAULTS } from "../config/cluster.js";
import { type HostStats, newHostStats } from "../conn_pool/host_stats.js";
import { ResourceManager } from "./resource_manager.js";

export type { HostStats } from "../conn_pool/host_stats.js";
export type { ClusterStats } from "./cluster_stats.js";

/**
 * Why a host is not healthy (Envoy's `Host::HealthFlag`), one bit each. Active health checking sets
 * and clears FAILED_ACTIVE_HC (and PENDING_ACTIVE_HC until a new host's first check), outlier detection
 * FAILED_OUTLIER_CHECK. A host with any of UNHEALTHY_FLAGS set leaves the load balancer.
 */
export const HealthFlag = {
  FAILED_ACTIVE_HC: 1,
  FAILED_OUTLIER_CHECK: 2,
  /** A host added to a health-checked cluster, not yet checked once (Envoy excludes it until then). */
  PENDING_ACTIVE_HC: 4,
} as const;
export type HealthFlag = (typeof HealthFlag)[keyof typeof HealthFlag];

/** The flags that make a host unhealthy. */
const UNHEALTHY_FLAGS = HealthFlag.FAILED_ACTIVE_HC | HealthFlag.FAILED_OUTLIER_CHECK;

/** One upstream endpoint (an IP:port). Owned by a Cluster; load balancers only read it. */
export class Host {
  /** Per-host counters shown by the admin `/clusters` endpoint (Envoy's `cx_total`, `rq_total`, ...). */
  readonly stats: HostStats = newHostStats();
  /** Set when DNS stopped returning this address: no new requests; pools close once idle. */
  draining = false;
  /** `HealthFlag` bits; 0: healthy. Change them with `setHealthFlag`, then refresh the cluster's balancer. */
  healthFlags = 0;

  constructor(
    /** IP literal to connect to. */
    readonly address: string,
    readonly port: number,
    readonly weight: number,
    /** DNS name (or endpoint hostname) for auto_host_rewrite and the admin; the address otherwise. */
    readonly hostname: string,
    /**
     * Its cluster's circuit breakers, shared by the pools of all the cluster's hosts (Envoy's
     * `host->cluster().resourceManager()`); a host made outside a cluster gets its own.
     */
    readonly resources: ResourceManager = new ResourceManager(CIRCUIT_BREAKER_DEFAULTS, null),
  ) {}

  /** No unhealthy flag set: active health checking and outlier detection both let it serve. */
  get healthy(): boolean {
    return (this.healthFlags & UNHEALTHY_FLAGS) === 0;
  }

  /** Tests and callers without a reason: false sets FAILED_ACTIVE_HC, true clears every unhealthy flag. */
  set healthy(value: boolean) {
    this.healthFlags = value
      ? this.healthFlags & ~UNHEALTHY_FLAGS
      : this.healthFlags | HealthFlag.FAILED_ACTIVE_HC;
  }

  /** Set or clear one flag; true when that changed the flags. */
  setHealthFlag(flag: HealthFlag, on: boolean): boolean {
    const next = on ? this.healthFlags | flag : this.healthFlags & ~flag;
    if (next === this.healthFlags) return false;
    this.healthFlags = next;
    return true;
  }

  hasHealthFlag(flag: HealthFlag): boolean {
    return (this.healthFlags & flag) !== 0;
  }

  /** `address:port`, IPv6 in brackets: the key for pools and the `%UPSTREAM_HOST%` log field. */
  get key(): string {
    return this.address.includes(":") ? `[${this.address}]:${this.port}` : `${this.address}:${this.port}`;
  }
}
