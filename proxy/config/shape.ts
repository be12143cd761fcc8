/**
 * The shape of a field we accept without applying it (`upstream_connection_options`, the
 * `overload_manager`...): its sub-fields are read with the check their kind asks for and unknown ones
 * are reported, so a typo inside is still an error, as in Envoy. The values themselves are dropped.
 */
import type { Obj } from "./reader.js";

export type FieldKind = "uint" | "percent" | "duration" | "positive-duration" | "bool" | "string" | "any";

export type Shape = Readonly<Record<string, FieldKind>>;

/** Reads every field of `shape` from `o` and reports the others; call instead of `o.done()`. */
export function checkShape(o: Obj, shape: Shape): void {
  for (const [key, kind] of Object.entries(shape)) {
    if (kind === "uint") o.int(key, 0);
    else if (kind === "percent") o.int(key, 0, 0, 100);
    else if (kind === "duration") o.duration(key, 0);
    else if (kind === "positive-duration") {
      if (o.has(key) && o.duration(key, 1) === 0) o.error(key, "must be greater than 0");
    } else if (kind === "bool") o.bool(key, false);
    else if (kind === "string") o.str(key);
    else o.get(key);
  }
  o.done();
}

/** `circuit_breakers.thresholds[]` and `per_host_thresholds[]` (envoy.config.cluster.v3.CircuitBreakers). */
export const CIRCUIT_BREAKER_THRESHOLDS: Shape = {
  priority: "any",
  max_connections: "uint",
  max_pending_requests: "uint",
  max_requests: "uint",
  max_retries: "uint",
  retry_budget: "any",
  track_remaining: "bool",
  max_connection_pools: "uint",
};

/** `outlier_detection` (envoy.config.cluster.v3.OutlierDetection). */
export const OUTLIER_DETECTION: Shape = {
  consecutive_5xx: "uint",
  interval: "positive-duration",
  base_ejection_time: "positive-duration",
  max_ejection_percent: "percent",
  enforcing_consecutive_5xx: "percent",
  enforcing_success_rate: "percent",
  success_rate_minimum_hosts: "uint",
  success_rate_request_volume: "uint",
  success_rate_stdev_factor: "uint",
  consecutive_gateway_failure: "uint",
  enforcing_consecutive_gateway_failure: "percent",
  split_external_local_origin_errors: "bool",
  consecutive_local_origin_failure: "uint",
  enforcing_consecutive_local_origin_failure: "percent",
  enforcing_local_origin_success_rate: "percent",
  failure_percentage_threshold: "percent",
  enforcing_failure_percentage: "percent",
  enforcing_failure_percentage_local_origin: "percent",
  failure_percentage_minimum_hosts: "uint",
  failure_percentage_request_volume: "uint",
  max_ejection_time: "positive-duration",
  max_ejection_time_jitter: "duration",
  successful_active_health_check_uneject_host: "bool",
  monitors: "any",
  always_eject_one_host: "bool",
};

/** `upstream_connection_options` (envoy.config.cluster.v3.UpstreamConnectionOptions). */
export const UPSTREAM_CONNECTION_OPTIONS: Shape = {
  tcp_keepalive: "any",
  set_local_interface_name_on_upstream_connections: "bool",
  happy_eyeballs_config: "any",
};

/** `overload_manager` (envoy.config.overload.v3.OverloadManager). */
export const OVERLOAD_MANAGER: Shape = {
  refresh_interval: "duration",
  resource_monitors: "any",
  actions: "any",
  buffer_factor_config: "any",
  loadshed_points: "any",
};
