/**
 * Outlier detection (Envoy's `Outlier::DetectorImpl`): passive health checking from the results of
 * real requests. The router reports every try's outcome for its host (a response status, a timeout, a
 * failed connection); consecutive failures eject the host at once (flag FAILED_OUTLIER_CHECK: it
 * leaves the load balancer), within `max_ejection_percent` of the cluster. The `interval` timer
 * brings hosts back after `base_ejection_time` x their ejections in a row (capped by
 * `max_ejection_time`) and ejects by the last interval's success rates (below the hosts' mean by
 * `success_rate_stdev_factor` standard deviations) and failure percentages.
 *
 * Envoy counts on the workers and ejects on the main thread; here each process runs its own detector
 * for its own traffic (docs/ENVOY-DIFFERENCES.md). Reporting allocates nothing: a Map lookup and a
 * few integer updates per try.
 */
import type { ResetReason } from "../api/upstream.js";
import type { OutlierDetectionConfig } from "../config/model.js";
import type { OutlierDetectionStats } from "./cluster_stats.js";
import { HealthFlag, type Host } from "./host.js";

/** How a try failed without a response (see `putLocalOriginFailure`). */
export type LocalOriginFailure = "connect" | "reset" | "timeout";

/**
 * What a reset of a try reports (Envoy's router: LocalOriginConnectFailed for every reset but a
 * circuit breaker's overflow, which says nothing about the host): null for `overflow`.
 */
export function localOriginFailureOf(reason: ResetReason): LocalOriginFailure | null {
  if (reason === "overflow") return null;
  return reason === "connection failure" || reason === "connection timeout" ? "connect" : "reset";
}

/** Envoy's `OutlierEjectionType`s that this detector raises. */
export type EjectionType =
  | "consecutive_5xx"
  | "consecutive_gateway_failure"
  | "consecutive_local_origin_failure"
  | "success_rate"
  | "local_origin_success_rate"
  | "failure_percentage"
  | "failure_percentage_local_origin";

type StatName = keyof OutlierDetectionStats;

/** Per ejection type: its detected and enforced counters and its `enforcing_*` field. */
const EJECTION_TYPES: Readonly<
  Record<EjectionType, { detected: StatName; enforced: StatName; enforcing: keyof OutlierDetectionConfig }>
> = {
  consecutive_5xx: {
    detected: "ejections_detected_consecutive_5xx",
    enforced: "ejections_enforced_consecutive_5xx",
    enforcing: "enforcingConsecutive5xx",
  },
  consecutive_gateway_failure: {
    detected: "ejections_detected_consecutive_gateway_failure",
    enforced: "ejections_enforced_consecutive_gateway_failure",
    enforcing: "enforcingConsecutiveGatewayFailure",
  },
  consecutive_local_origin_failure: {
    detected: "ejections_detected_consecutive_local_origin_failure",
    enforced: "ejections_enforced_consecutive_local_origin_failure",
    enforcing: "enforcingConsecutiveLocalOriginFailure",
  },
  success_rate: {
    detected: "ejections_detected_success_rate",
    enforced: "ejections_enforced_success_rate",
    enforcing: "enforcingSuccessRate",
  },
  local_origin_success_rate: {
    detected: "ejections_detected_local_origin_success_rate",
    enforced: "ejections_enforced_local_origin_success_rate",
    enforcing: "enforcingLocalOriginSuccessRate",
  },
  failure_percentage: {
    detected: "ejections_detected_failure_percentage",
    enforced: "ejections_enforced_failure_percentage",
    enforcing: "enforcingFailurePercentage",
  },
  failure_percentage_local_origin: {
    detected: "ejections_detected_local_origin_failure_percentage",
    enforced: "ejections_enforced_local_origin_failure_percentage",
    enforcing: "enforcingFailurePercentageLocalOrigin",
  },
};

/**
 * Requests and successes of one interval (Envoy's `SuccessRateAccumulator`): the interval being
 * counted, and the last whole one, which the sweep reads.
 */
class SuccessRateCounts {
  total = 0;
  success = 0;
  lastTotal = 0;
  lastSuccess = 0;
  /** The last interval's success rate in percent when its volume counted, else -1 (`/clusters`). */
  rate = -1;

  /** The interval ended: it becomes the last one. */
  rotate(): void {
    this.lastTotal = this.total;
    this.lastSuccess = this.success;
    this.total = 0;
    this.success = 0;
    this.rate = -1;
  }
}

/** One host's counters (Envoy's `DetectorHostMonitorImpl`). */
class HostMonitor {
  consecutive5xx = 0;
  consecutiveGatewayFailure = 0;
  consecutiveLocalOriginFailure = 0;
  /** Ejections so far (Envoy's `num_ejections`, shown in its event log). */
  numEjections = 0;
  /** Envoy's `ejectTimeBackoff`: the current ejection lasts this many `base_ejection_time`s. */
  backoff = 0;
  lastEjectionAt = 0;
  /** -1: never un-ejected. */
  lastUnejectionAt = -1;
  jitterMs = 0;
  /** Responses (a local failure without the split counts as one): Envoy's external-origin monitor. */
  readonly external = new SuccessRateCounts();
  /** Connections and local failures, with `split_external_local_origin_errors` only. */
  readonly local = new SuccessRateCounts();

  constructor(readonly host: Host) {}
}

/** A cluster's success-rate figures of the last sweep (-1: none), for `/clusters`. */
export interface SuccessRateFigures {
  average: number;
  ejectionThreshold: number;
}

export interface OutlierDetectorOptions {
  /** Called after a host was ejected or came back: the cluster rebuilds its load balancer. */
  onHostChange: (host: Host) => void;
  /** Monotonic ms; default `performance.now()`. */
  now?: () => number;
  /** Uniform in [0, 1): the `enforcing_*` percentages and the ejection jitter. */
  random?: () => number;
}

/** The outlier detector of one cluster. */
export class OutlierDetector {
  private readonly monitors = new Map<Host, HostMonitor>();
  private ejectionsActive = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly onHostChange: (host: Host) => void;
  /** The last sweep's figures: external origin, then local origin. */
  readonly externalFigures: SuccessRateFigures = { average: -1, ejectionThreshold: -1 };
  readonly localFigures: SuccessRateFigures = { average: -1, ejectionThreshold: -1 };

  constructor(
    readonly config: Readonly<OutlierDetectionConfig>,
    readonly stats: OutlierDetectionStats,
    opts: OutlierDetectorOptions,
  ) {
    this.now = opts.now ?? (() => performance.now());
    this.random = opts.random ?? Math.random;
    this.onHostChange = opts.onHostChange;
  }

  /** Arm the `interval` timer (un-ejections and success-rate sweeps). */
  start(): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => this.onIntervalTimer(), this.config.intervalMs);
    this.timer.unref();
  }

  /** Stop the sweeps; this detector's ejections no longer count in `ejections_active`. */
  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.addActive(-this.ejectionsActive);
  }

  /**
   * The cluster's membership changed: monitor the new hosts, forget the removed ones (an ejected one
   * no longer counts in `ejections_active`, as in Envoy).
   */
  setHosts(hosts: readonly Host[]): void {
    const keep = new Set(hosts);
    for (const [host] of this.monitors) {
      if (keep.has(host)) continue;
      if (host.hasHealthFlag(HealthFlag.FAILED_OUTLIER_CHECK)) this.addActive(-1);
      this.monitors.delete(host);
    }
    for (const host of hosts) if (!this.monitors.has(host)) this.monitors.set(host, new HostMonitor(host));
  }

  /**
   * A try that failed without a response head (Envoy's `putResult` with a local-origin result):
   * `connect` its connection failed (Envoy's LocalOriginConnectFailed before any pool-ready), `reset`
   * its stream was reset on an established connection, `timeout` it timed out. Without
   * `split_external_local_origin_errors` it counts as a 503 response (a 504 for a timeout); with it,
   * as a local-origin failure only, and a try that had its connection (`reset`, `timeout`) first
   * ends the previous run, as Envoy's LocalOriginConnectSuccess at pool-ready does: only failed
   * connections in a row reach `consecutive_local_origin_failure` above 1.
   */
  putLocalOriginFailure(host: Host, failure: LocalOriginFailure): void {
    const m = this.monitors.get(host);
    if (m === undefined) return;
    if (!this.config.splitExternalLocalOriginErrors) {
      this.putCode(m, failure === "timeout" ? 504 : 503);
      return;
    }
    if (failure !== "connect") this.localSuccess(m);
    m.local.total++;
    if (++m.consecutiveLocalOriginFailure === this.config.consecutiveLocalOriginFailure)
      this.onConsecutiveError(m, "consecutive_local_origin_failure");
  }

  /**
   * A response head from `host` (every try's, retried ones included): Envoy's
   * `putHttpResponseCode`. With `split_external_local_origin_errors` it also ends a run of
   * local-origin failures (the try had its connection: Envoy's LocalOriginConnectSuccess).
   */
  putResponse(host: Host, status: number): void {
    const m = this.monitors.get(host);
    if (m === undefined) return;
    if (this.config.splitExternalLocalOriginErrors) this.localSuccess(m);
    this.putCode(m, status);
  }

  /** The last sweep's success rate of `host` in percent (-1: none), external or local origin. */
  successRate(host: Host, local: boolean): number {
    const m = this.monitors.get(host);
    if (m === undefined) return -1;
    return local ? m.local.rate : m.external.rate;
  }

  /** Envoy's LocalOriginConnectSuccess (split mode): the connection was made. */
  private localSuccess(m: HostMonitor): void {
    m.local.total++;
    m.local.success++;
    m.consecutiveLocalOriginFailure = 0;
  }

  private putCode(m: HostMonitor, status: number): void {
    m.external.total++;
    if (status >= 500 && status < 600) {
      if (status >= 502 && status <= 504) {
        if (++m.consecutiveGatewayFailure === this.config.consecutiveGatewayFailure)
          this.onConsecutiveError(m, "consecutive_gateway_failure");
      } else {
        m.consecutiveGatewayFailure = 0;
      }
      if (++m.consecutive5xx === this.config.consecutive5xx) this.onConsecutiveError(m, "consecutive_5xx");
    } else {
      m.external.success++;
      m.consecutive5xx = 0;
      m.consecutiveGatewayFailure = 0;
    }
  }

  /** Envoy's `onConsecutiveErrorWorker` (run at once: there is no other thread to post to). */
  private onConsecutiveError(m: HostMonitor, type: EjectionType): void {
    if (m.host.hasHealthFlag(HealthFlag.FAILED_OUTLIER_CHECK)) return;
    const s = this.stats;
    s[EJECTION_TYPES[type].detected].value++;
    this.ejectHost(m, type);
    // Reset the counter that fired, so a new run of failures is detected again.
    if (type === "consecutive_5xx") {
      s.ejections_consecutive_5xx.value++;
      m.consecutive5xx = 0;
    } else if (type === "consecutive_gateway_failure") {
      m.consecutiveGatewayFailure = 0;
    } else {
      m.consecutiveLocalOriginFailure = 0;
    }
  }

  /**
   * Envoy 1.40's `ejectHost`: allowed while (ejected + 1) / hosts stays within
   * `max_ejection_percent` (or, with `always_eject_one_host`, when none is ejected); enforced with
   * the `enforcing_*` probability. A host the same sweep already ejected (by success rate, then by
   * failure percentage) stays ejected once (Envoy would eject it twice).
   */
  private ejectHost(m: HostMonitor, type: EjectionType): void {
    if (m.host.hasHealthFlag(HealthFlag.FAILED_OUTLIER_CHECK)) return;
    const c = this.config;
    const s = this.stats;
    const ejectedPercent = (100 * (this.ejectionsActive + 1)) / this.monitors.size;
    const allowed =
      ejectedPercent <= c.maxEjectionPercent || (c.alwaysEjectOneHost && this.ejectionsActive === 0);
    if (!allowed) {
      s.ejections_overflow.value++;
      return;
    }
    // Deprecated, counted as Envoy still counts it.
    if (type === "consecutive_5xx" || type === "success_rate") s.ejections_total.value++;
    if (!this.enforced(type)) return;
    this.addActive(1);
    s.ejections_enforced_total.value++;
    s[EJECTION_TYPES[type].enforced].value++;
    m.host.setHealthFlag(HealthFlag.FAILED_OUTLIER_CHECK, true);
    m.numEjections++;
    m.lastEjectionAt = this.now();
    m.jitterMs = Math.floor(this.random() * (c.maxEjectionTimeJitterMs + 1));
    if (m.backoff * c.baseEjectionTimeMs < c.maxEjectionTimeMs + c.baseEjectionTimeMs) m.backoff++;
    this.onHostChange(m.host);
  }

  private enforced(type: EjectionType): boolean {
    const percent = this.config[EJECTION_TYPES[type].enforcing] as number;
    return percent >= 100 || (percent > 0 && this.random() * 100 < percent);
  }

  /**
   * Envoy's `onIntervalTimer`: un-eject hosts whose time is up, close the interval's success-rate
   * counts and eject by them, shorten the back-off of hosts that stayed in.
   */
  private onIntervalTimer(): void {
    this.timer = null;
    const c = this.config;
    const now = this.now();
    for (const m of this.monitors.values()) {
      m.external.rotate();
      m.local.rotate();
      if (!m.host.hasHealthFlag(HealthFlag.FAILED_OUTLIER_CHECK)) continue;
      const ejectedFor = Math.min(c.baseEjectionTimeMs * m.backoff, c.maxEjectionTimeMs) + m.jitterMs;
      if (ejectedFor <= now - m.lastEjectionAt) this.unejectHost(m, now);
    }
    this.successRateEjections(false);
    this.successRateEjections(true);
    for (const m of this.monitors.values()) {
      if (m.host.hasHealthFlag(HealthFlag.FAILED_OUTLIER_CHECK)) continue;
      // Healthy for a whole interval since its return: the next ejection is one step shorter.
      if (m.lastUnejectionAt >= 0 && now - m.lastUnejectionAt >= c.intervalMs && m.backoff > 0) m.backoff--;
    }
    this.start();
  }

  /**
   * Envoy's `processSuccessRateEjections` for external (or local) origin: among the hosts in service
   * with enough requests in the last interval, eject those whose success rate is below
   * mean - `success_rate_stdev_factor`/1000 x the standard deviation (with at least
   * `success_rate_minimum_hosts` such hosts), and those failing `failure_percentage_threshold`% or
   * more (with at least `failure_percentage_minimum_hosts`).
   */
  private successRateEjections(local: boolean): void {
    const c = this.config;
    const figures = local ? this.localFigures : this.externalFigures;
    figures.average = -1;
    figures.ejectionThreshold = -1;
    const hosts = this.monitors.size;
    if (hosts < c.successRateMinimumHosts && hosts < c.failurePercentageMinimumHosts) return;
    const bySuccessRate: HostMonitor[] = [];
    const byFailurePercentage: HostMonitor[] = [];
    let sum = 0;
    for (const m of this.monitors.values()) {
      if (m.host.hasHealthFlag(HealthFlag.FAILED_OUTLIER_CHECK)) continue;
      const counts = local ? m.local : m.external;
      if (counts.lastTotal === 0) continue;
      const rate = (counts.lastSuccess * 100) / counts.lastTotal;
      if (counts.lastTotal >= Math.min(c.successRateRequestVolume, c.failurePercentageRequestVolume))
        counts.rate = rate;
      if (counts.lastTotal >= c.successRateRequestVolume) {
        bySuccessRate.push(m);
        sum += rate;
      }
      if (counts.lastTotal >= c.failurePercentageRequestVolume) byFailurePercentage.push(m);
    }
    const rateOf = (m: HostMonitor) => (local ? m.local.rate : m.external.rate);
    if (bySuccessRate.length > 0 && bySuccessRate.length >= c.successRateMinimumHosts) {
      const mean = sum / bySuccessRate.length;
      let variance = 0;
      for (const m of bySuccessRate) variance += (rateOf(m) - mean) ** 2;
      const stdev = Math.sqrt(variance / bySuccessRate.length);
      const threshold = mean - (c.successRateStdevFactor / 1000) * stdev;
      figures.average = mean;
      figures.ejectionThreshold = threshold;
      const type: EjectionType = local ? "local_origin_success_rate" : "success_rate";
      for (const m of bySuccessRate) {
        if (rateOf(m) >= threshold) continue;
        this.stats.ejections_success_rate.value++;
        this.stats[EJECTION_TYPES[type].detected].value++;
        this.ejectHost(m, type);
      }
    }
    if (byFailurePercentage.length > 0 && byFailurePercentage.length >= c.failurePercentageMinimumHosts) {
      const type: EjectionType = local ? "failure_percentage_local_origin" : "failure_percentage";
      for (const m of byFailurePercentage) {
        if (100 - rateOf(m) < c.failurePercentageThreshold) continue;
        this.stats[EJECTION_TYPES[type].detected].value++;
        this.ejectHost(m, type);
      }
    }
  }

  /**
   * An active health check of `host` passed (Envoy's host-check-complete callback of the detector):
   * with `successful_active_health_check_uneject_host`, an ejected host comes back at once.
   */
  successfulActiveHealthCheck(host: Host): void {
    if (!this.config.successfulActiveHealthCheckUnejectHost) return;
    const m = this.monitors.get(host);
    if (m !== undefined && host.hasHealthFlag(HealthFlag.FAILED_OUTLIER_CHECK))
      this.unejectHost(m, this.now());
  }

  private unejectHost(m: HostMonitor, now: number): void {
    this.addActive(-1);
    m.host.setHealthFlag(HealthFlag.FAILED_OUTLIER_CHECK, false);
    m.consecutive5xx = 0;
    m.consecutiveGatewayFailure = 0;
    m.consecutiveLocalOriginFailure = 0;
    m.lastUnejectionAt = now;
    this.onHostChange(m.host);
  }

  /**
   * `ejections_active` moves by differences, as Envoy's helper gauge does: a cluster replaced by a
   * reload shares the gauge with its successor, and takes back only its own ejections on close.
   */
  private addActive(delta: number): void {
    this.ejectionsActive += delta;
    this.stats.ejections_active.value += delta;
  }
}
