/**
 * A cluster's `outlier_detection` (envoy.config.cluster.v3.OutlierDetection; the v2 message has the
 * same fields): consecutive failures, success rate, failure percentage and
 * `successful_active_health_check_uneject_host` are applied; `monitors` is accepted (its shape
 * checked) and named in a warning.
 */
import type { OutlierDetectionConfig } from "./model.js";
import type { Obj } from "./reader.js";
import { checkShape, OUTLIER_DETECTION, type Shape } from "./shape.js";

/** Envoy's defaults (source/common/upstream/outlier_detection_impl.h, `DEFAULT_*`). */
export const OUTLIER_DETECTION_DEFAULTS: Readonly<OutlierDetectionConfig> = {
  consecutive5xx: 5,
  consecutiveGatewayFailure: 5,
  consecutiveLocalOriginFailure: 5,
  splitExternalLocalOriginErrors: false,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionTimeJitterMs: 0,
  maxEjectionPercent: 10,
  alwaysEjectOneHost: false,
  successfulActiveHealthCheckUnejectHost: true,
  enforcingConsecutive5xx: 100,
  enforcingConsecutiveGatewayFailure: 0,
  enforcingConsecutiveLocalOriginFailure: 100,
  successRateMinimumHosts: 5,
  successRateRequestVolume: 100,
  successRateStdevFactor: 1900,
  enforcingSuccessRate: 100,
  enforcingLocalOriginSuccessRate: 100,
  failurePercentageThreshold: 85,
  failurePercentageMinimumHosts: 5,
  failurePercentageRequestVolume: 50,
  enforcingFailurePercentage: 0,
  enforcingFailurePercentageLocalOrigin: 0,
};

/** The fields read here; the rest of OUTLIER_DETECTION is accepted and not applied. */
const APPLIED = new Set([
  "successful_active_health_check_uneject_host",
  "consecutive_5xx",
  "consecutive_gateway_failure",
  "consecutive_local_origin_failure",
  "split_external_local_origin_errors",
  "interval",
  "base_ejection_time",
  "max_ejection_time",
  "max_ejection_time_jitter",
  "max_ejection_percent",
  "always_eject_one_host",
  "enforcing_consecutive_5xx",
  "enforcing_consecutive_gateway_failure",
  "enforcing_consecutive_local_origin_failure",
  "success_rate_minimum_hosts",
  "success_rate_request_volume",
  "success_rate_stdev_factor",
  "enforcing_success_rate",
  "enforcing_local_origin_success_rate",
  "failure_percentage_threshold",
  "failure_percentage_minimum_hosts",
  "failure_percentage_request_volume",
  "enforcing_failure_percentage",
  "enforcing_failure_percentage_local_origin",
]);

const UNAPPLIED: Shape = Object.fromEntries(
  Object.entries(OUTLIER_DETECTION).filter(([key]) => !APPLIED.has(key)),
);

/** Why each unapplied field has no effect (one warning per field set). */
const UNAPPLIED_BECAUSE: Readonly<Record<string, string>> = {
  monitors: "no outlier detection extensions",
};
/** `outlier_detection`, or undefined when the cluster has none. */
export function parseOutlierDetection(c: Obj): OutlierDetectionConfig | undefined {
  const o = c.obj("outlier_detection");
  if (o === null) return undefined;
  const d = OUTLIER_DETECTION_DEFAULTS;
  const positive = (key: string, fallback: number): number => {
    const ms = o.duration(key, fallback);
    if (o.has(key) && ms === 0) o.error(key, "must be greater than 0");
    return ms === 0 ? fallback : ms;
  };
  const percent = (key: string, fallback: number): number => o.int(key, fallback, 0, 100);
  const intervalMs = positive("interval", d.intervalMs);
  const baseEjectionTimeMs = positive("base_ejection_time", d.baseEjectionTimeMs);
  // Envoy: an unset max_ejection_time is 300 s, or base_ejection_time when that is longer.
  const maxEjectionTimeMs = positive("max_ejection_time", Math.max(d.maxEjectionTimeMs, baseEjectionTimeMs));
  if (maxEjectionTimeMs < baseEjectionTimeMs)
    o.error("max_ejection_time", "cannot be smaller than base_ejection_time (Envoy refuses the cluster)");
  const out: OutlierDetectionConfig = {
    consecutive5xx: o.int("consecutive_5xx", d.consecutive5xx),
    consecutiveGatewayFailure: o.int("consecutive_gateway_failure", d.consecutiveGatewayFailure),
    consecutiveLocalOriginFailure: o.int("consecutive_local_origin_failure", d.consecutiveLocalOriginFailure),
    splitExternalLocalOriginErrors: o.bool(
      "split_external_local_origin_errors",
      d.splitExternalLocalOriginErrors,
    ),
    intervalMs,
    baseEjectionTimeMs,
    maxEjectionTimeMs,
    maxEjectionTimeJitterMs: o.duration("max_ejection_time_jitter", d.maxEjectionTimeJitterMs),
    maxEjectionPercent: percent("max_ejection_percent", d.maxEjectionPercent),
    alwaysEjectOneHost: o.bool("always_eject_one_host", d.alwaysEjectOneHost),
    successfulActiveHealthCheckUnejectHost: o.bool(
      "successful_active_health_check_uneject_host",
      d.successfulActiveHealthCheckUnejectHost,
    ),
    enforcingConsecutive5xx: percent("enforcing_consecutive_5xx", d.enforcingConsecutive5xx),
    enforcingConsecutiveGatewayFailure: percent(
      "enforcing_consecutive_gateway_failure",
      d.enforcingConsecutiveGatewayFailure,
    ),
    enforcingConsecutiveLocalOriginFailure: percent(
      "enforcing_consecutive_local_origin_failure",
      d.enforcingConsecutiveLocalOriginFailure,
    ),
    successRateMinimumHosts: o.int("success_rate_minimum_hosts", d.successRateMinimumHosts),
    successRateRequestVolume: o.int("success_rate_request_volume", d.successRateRequestVolume),
    successRateStdevFactor: o.int("success_rate_stdev_factor", d.successRateStdevFactor),
    enforcingSuccessRate: percent("enforcing_success_rate", d.enforcingSuccessRate),
    enforcingLocalOriginSuccessRate: percent(
      "enforcing_local_origin_success_rate",
      d.enforcingLocalOriginSuccessRate,
    ),
    failurePercentageThreshold: percent("failure_percentage_threshold", d.failurePercentageThreshold),
    failurePercentageMinimumHosts: o.int("failure_percentage_minimum_hosts", d.failurePercentageMinimumHosts),
    failurePercentageRequestVolume: o.int(
      "failure_percentage_request_volume",
      d.failurePercentageRequestVolume,
    ),
    enforcingFailurePercentage: percent("enforcing_failure_percentage", d.enforcingFailurePercentage),
    enforcingFailurePercentageLocalOrigin: percent(
      "enforcing_failure_percentage_local_origin",
      d.enforcingFailurePercentageLocalOrigin,
    ),
  };
  for (const key of Object.keys(UNAPPLIED)) o.ignoreBecause(key, UNAPPLIED_BECAUSE[key] ?? "not applied");
  checkShape(o, UNAPPLIED);
  return out;
}
