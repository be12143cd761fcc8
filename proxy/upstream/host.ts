import { CIRCUIT_BREAKER_DEFAULTS } from "../config/cluster.js";
import { type HostStats, newHostStats } from "../conn_pool/host_stats.js";
import { ResourceManager } from "./resource_manager.js";

export type { HostStats } from "../conn_pool/host_stats.js";
export type { ClusterStats } from "./cluster_stats.js";

/** One upstream endpoint (an IP:port). Owned by a Cluster; load balancers only read it. */
export class Host {
  /** Per-host counters shown by the admin `/clusters` endpoint (Envoy's `cx_total`, `rq_total`, ...). */
  readonly stats: HostStats = newHostStats();
  /** Set when DNS stopped returning this address: no new requests; pools close once idle. */
  draining = false;
  /** Health as the admin reports it; without health checking every host is healthy. */
  healthy = true;

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

  /** `address:port`, IPv6 in brackets: the key for pools and the `%UPSTREAM_HOST%` log field. */
  get key(): string {
    return this.address.includes(":") ? `[${this.address}]:${this.port}` : `${this.address}:${this.port}`;
  }
}
