/**
 * Plain, serialisable views of what the admin shows (clusters, hosts, listeners), taken from the
 * live objects, and how views from several worker processes add up.
 */

import { circuitBreakersOf } from "../config/cluster.js";
import type { CircuitBreakers } from "../config/model.js";
import { isPerProcessGauge } from "../stats/catalog.js";
import type { StatsSnapshot } from "../stats/store.js";
import type { ClusterManager } from "../upstream/cluster.js";
import type { HostStats } from "../upstream/host.js";
import type { OutlierDetector } from "../upstream/outlier_detection.js";

export interface HostStatus {
  address: string;
  port: number;
  /** The DNS name or the endpoint's `hostname`; "" for a static IP (Envoy prints it empty). */
  hostname: string;
  weight: number;
  /** `HealthFlag` bits (proxy/upstream/host.ts); 0: healthy. */
  healthFlags: number;
  /** Removed from DNS, still finishing requests (`/pending_dynamic_removal` in Envoy's health_flags). */
  draining: boolean;
  stats: HostStats;
  /**
   * Outlier detection's success rate of the host in the last interval (percent), external and local
   * origin; -1 when it had too few requests. Absent: the cluster has no outlier detection.
   */
  successRate?: number;
  localOriginSuccessRate?: number;
}

/** A cluster's outlier detection figures of the last interval (-1: none), as `/clusters` prints them. */
export interface OutlierStatus {
  successRateAverage: number;
  successRateEjectionThreshold: number;
  localOriginSuccessRateAverage: number;
  localOriginSuccessRateEjectionThreshold: number;
}

export interface ClusterStatus {
  name: string;
  hosts: HostStatus[];
  /** Its `circuit_breakers` thresholds; absent: Envoy's defaults. */
  circuitBreakers?: CircuitBreakers;
  /** Its outlier detection's figures (`/clusters` prints its `outlier::` lines); absent: none. */
  outlier?: OutlierStatus;
  /** From a CDS file (`added_via_api::true`); absent: static. */
  addedViaApi?: boolean;
}

export interface ListenerStatus {
  name: string;
  address: string;
  port: number;
}

/** `apiClusters`: the names a CDS file added. */
export function clusterStatuses(cm: ClusterManager, apiClusters?: ReadonlySet<string>): ClusterStatus[] {
  return cm.all().map((c) => ({
    name: c.name,
    ...(apiClusters?.has(c.name) ? { addedViaApi: true } : {}),
    circuitBreakers: circuitBreakersOf(c.config),
    ...(c.outlierDetector === null ? {} : { outlier: outlierStatus(c.outlierDetector) }),
    hosts: c.hosts.map((h) => ({
      address: h.address,
      port: h.port,
      // Envoy's hostname is the DNS name (or the endpoint's `hostname`): none for an IP literal.
      hostname: h.hostname === h.address ? "" : h.hostname,
      weight: h.weight,
      healthFlags: h.healthFlags,
      draining: h.draining,
      stats: { ...h.stats },
      ...(c.outlierDetector === null
        ? {}
        : {
            successRate: c.outlierDetector.successRate(h, false),
            localOriginSuccessRate: c.outlierDetector.successRate(h, true),
          }),
    })),
  }));
}

/** `ip:port`, IPv6 in brackets (Envoy's form in `/clusters`). */
export function hostKey(h: { address: string; port: number }): string {
  return h.address.includes(":") ? `[${h.address}]:${h.port}` : `${h.address}:${h.port}`;
}

function outlierStatus(d: OutlierDetector): OutlierStatus {
  return {
    successRateAverage: d.externalFigures.average,
    successRateEjectionThreshold: d.externalFigures.ejectionThreshold,
    localOriginSuccessRateAverage: d.localFigures.average,
    localOriginSuccessRateEjectionThreshold: d.localFigures.ejectionThreshold,
  };
}

/** Adds up host stats of the same cluster/host seen by several workers. */
export function mergeClusterStatuses(perWorker: readonly ClusterStatus[][]): ClusterStatus[] {
  const clusters = new Map<string, Map<string, HostStatus>>();
  /** Every worker has the same config: the first one's thresholds. */
  const breakers = new Map<string, CircuitBreakers>();
  /** Each worker has its own detector: the first worker's figures. */
  const outliers = new Map<string, OutlierStatus>();
  const viaApi = new Set<string>();
  for (const list of perWorker) {
    for (const c of list) {
      if (c.addedViaApi === true) viaApi.add(c.name);
      let hosts = clusters.get(c.name);
      if (hosts === undefined) {
        hosts = new Map();
        clusters.set(c.name, hosts);
      }
      if (c.circuitBreakers !== undefined && !breakers.has(c.name)) breakers.set(c.name, c.circuitBreakers);
      if (c.outlier !== undefined && !outliers.has(c.name)) outliers.set(c.name, c.outlier);
      for (const h of c.hosts) {
        const key = hostKey(h);
        const seen = hosts.get(key);
        if (seen === undefined) {
          hosts.set(key, { ...h, stats: { ...h.stats } });
          continue;
        }
        for (const k of Object.keys(seen.stats) as Array<keyof HostStats>) seen.stats[k] += h.stats[k];
        seen.healthFlags |= h.healthFlags;
        seen.draining &&= h.draining;
      }
    }
  }
  return [...clusters].map(([name, hosts]) => {
    const circuitBreakers = breakers.get(name);
    return {
      name,
      hosts: [...hosts.values()],
      ...(circuitBreakers === undefined ? {} : { circuitBreakers }),
      ...(outliers.has(name) ? { outlier: outliers.get(name) } : {}),
      ...(viaApi.has(name) ? { addedViaApi: true } : {}),
    };
  });
}

/**
 * Sums counters and gauges from several workers. A gauge declared per process (cluster membership,
 * `server.*`: every worker holds a copy) takes the maximum instead.
 */
export function mergeSnapshots(snapshots: readonly StatsSnapshot[]): StatsSnapshot {
  const counters: Record<string, number> = {};
  const gauges: Record<string, number> = {};
  for (const s of snapshots) {
    for (const [k, v] of Object.entries(s.counters)) counters[k] = (counters[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.gauges)) {
      const prev = gauges[k];
      if (prev === undefined) gauges[k] = v;
      else gauges[k] = isPerProcessGauge(k) ? Math.max(prev, v) : prev + v;
    }
  }
  return { counters, gauges };
}
