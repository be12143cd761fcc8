/**
 * `health_checks` (envoy.config.core.v3.HealthCheck; v2 spellings `service_name`, `use_http2`) and
 * `common_lb_config.healthy_panic_threshold`. HTTP checks (HTTP/1.1, or h2c with `codec_client_type:
 * HTTP2`) are applied in full, TCP checks as a connect (no `send`/`receive` payloads); gRPC and
 * custom checkers are accepted with a warning and not applied (the cluster's hosts then count as
 * healthy, as without `health_checks`).
 */
import type { HealthCheckConfig, HttpHealthCheckConfig } from "./model.js";
import type { Obj } from "./reader.js";

const CHECKERS = ["http_health_check", "tcp_health_check", "grpc_health_check", "custom_health_check"];

/** Envoy's default `no_traffic_interval`. */
const NO_TRAFFIC_INTERVAL_MS = 60_000;

/** The cluster's first `health_checks` entry, parsed; undefined when it has none applied. */
export function parseHealthChecks(c: Obj): HealthCheckConfig | undefined {
  const checks = c.objList("health_checks");
  if (checks.length > 1) {
    c.error(
      "health_checks",
      "unsupported: more than one health check (echomesh-proxy applies one per cluster)",
    );
  }
  let out: HealthCheckConfig | undefined;
  for (const hc of checks) {
    const parsed = parseHealthCheck(hc);
    out ??= parsed;
  }
  return checks.length > 1 ? undefined : out;
}

function positive(o: Obj, key: string, fallback: number): number {
  if (!o.has(key)) return fallback;
  const ms = o.duration(key, fallback);
  if (ms === 0) o.error(key, "must be greater than 0");
  return ms === 0 ? fallback : ms;
}

function parseHealthCheck(hc: Obj): HealthCheckConfig | undefined {
  let ok = true;
  const required = (key: string) => {
    if (!hc.require(key)) ok = false;
  };
  for (const key of ["timeout", "interval"]) required(key);
  const timeoutMs = positive(hc, "timeout", 1);
  const intervalMs = positive(hc, "interval", 1);
  for (const key of ["unhealthy_threshold", "healthy_threshold"]) required(key);
  const unhealthyThreshold = hc.int("unhealthy_threshold", 1);
  const healthyThreshold = hc.int("healthy_threshold", 1);
  const noTrafficIntervalMs = positive(hc, "no_traffic_interval", NO_TRAFFIC_INTERVAL_MS);
  const unhealthyIntervalMs = positive(hc, "unhealthy_interval", intervalMs);
  const config: HealthCheckConfig = {
    timeoutMs,
    intervalMs,
    noTrafficIntervalMs,
    noTrafficHealthyIntervalMs: positive(hc, "no_traffic_healthy_interval", noTrafficIntervalMs),
    unhealthyIntervalMs,
    unhealthyEdgeIntervalMs: positive(hc, "unhealthy_edge_interval", unhealthyIntervalMs),
    healthyEdgeIntervalMs: positive(hc, "healthy_edge_interval", intervalMs),
    intervalJitterMs: hc.duration("interval_jitter", 0),
    intervalJitterPercent: hc.int("interval_jitter_percent", 0),
    initialJitterMs: hc.duration("initial_jitter", 0),
    unhealthyThreshold,
    healthyThreshold,
    reuseConnection: hc.bool("reuse_connection", true),
    kind: "http",
  };
  hc.str("name");
  if (hc.has("alt_port")) hc.error("alt_port", "unsupported field (not implemented by echomesh-proxy)");
  for (const key of [
    "event_log_path",
    "event_logger",
    "event_service",
    "always_log_health_check_failures",
    "always_log_health_check_success",
  ]) {
    hc.ignoreBecause(key, "no health check event log");
  }
  hc.ignoreBecause("tls_options", "health checks offer the ALPN of their own protocol");
  hc.ignoreBecause(
    "transport_socket_match_criteria",
    "no transport_socket_matches: checks use the cluster's transport socket",
  );
  const checker = hc.oneOf(CHECKERS, true);
  if (checker === null) ok = false;
  let applied = true;
  if (checker === "http_health_check") {
    const http = parseHttp(hc);
    if (http === null) ok = false;
    else config.http = http;
  } else if (checker === "tcp_health_check") {
    config.kind = "tcp";
    const tcp = hc.obj("tcp_health_check");
    if (tcp !== null) {
      tcp.ignoreBecause("send", "the TCP check only connects");
      tcp.ignoreBecause("receive", "the TCP check only connects");
      tcp.ignoreBecause("proxy_protocol_config", "the TCP check only connects");
      tcp.done();
    }
  } else if (checker !== null) {
    hc.get(checker);
    hc.ignoreBecause(
      checker,
      "echomesh-proxy sends no gRPC or custom health checks; every host counts as healthy",
    );
    applied = false;
  }
  hc.done();
  return ok && applied ? config : undefined;
}

const CODECS = { HTTP1: "http1", HTTP2: "http2", HTTP3: null } as const;

function parseHttp(hc: Obj): HttpHealthCheckConfig | null {
  const h = hc.obj("http_health_check");
  if (h === null) return null;
  const path = h.name("path");
  const host = h.str("host");
  if (h.has("service_name")) {
    h.ctx.sawV2(h.at("service_name"), "service_name_matcher");
    h.ignoreBecause("service_name", "no x-envoy-upstream-healthchecked-cluster check of the response");
  }
  h.ignoreBecause("service_name_matcher", "no x-envoy-upstream-healthchecked-cluster check of the response");
  const codec = h.enumOf("codec_client_type", CODECS, "http1");
  const useHttp2 = h.bool("use_http2", false);
  if (h.has("use_http2")) h.ctx.sawV2(h.at("use_http2"), "codec_client_type: HTTP2");
  h.unsupported("send", "receive", "response_buffer_size");
  const method = h.str("method");
  if (method !== undefined && method.toUpperCase() !== "GET") {
    h.error("method", `unsupported value "${method}" (echomesh-proxy health checks use GET)`);
  }
  const expectedStatuses = statusRanges(h, "expected_statuses");
  const retriableStatuses = statusRanges(h, "retriable_statuses");
  const headersToAdd: Array<readonly [string, string]> = [];
  for (const option of h.objList("request_headers_to_add")) {
    const header = option.obj("header");
    if (header === null) {
      option.require("header");
    } else {
      const key = header.name("key");
      const value = header.str("value") ?? "";
      header.ignoreBecause("raw_value", "use value");
      header.done();
      if (key !== undefined) headersToAdd.push([key.toLowerCase(), value]);
    }
    option.bool("append", true);
    option.get("append_action");
    option.bool("keep_empty_value", false);
    option.done();
  }
  const headersToRemove = h.strList("request_headers_to_remove").map((name) => name.toLowerCase());
  h.done();
  if (path === undefined) return null;
  return {
    path,
    http2: codec === "http2" || useHttp2,
    host: host === undefined || host === "" ? null : host,
    expectedStatuses: expectedStatuses.length > 0 ? expectedStatuses : [[200, 201]],
    retriableStatuses,
    headersToAdd,
    headersToRemove,
  };
}

/** `Int64Range`s `[start, end)`, each within [100, 600) as Envoy checks them. */
function statusRanges(h: Obj, key: string): Array<readonly [number, number]> {
  const out: Array<readonly [number, number]> = [];
  for (const r of h.objList(key)) {
    const start = r.int("start", 0, 0, 1_000);
    const end = r.int("end", 0, 0, 1_000);
    r.done();
    if (start >= end) {
      r.error(null, `expecting start < end, but found start=${start} and end=${end}`);
    } else if (start < 100) {
      r.error("start", `expecting start >= 100, but found start=${start}`);
    } else if (end > 600) {
      r.error("end", `expecting end <= 600, but found end=${end}`);
    } else {
      out.push([start, end]);
    }
  }
  return out;
}

/** `common_lb_config.healthy_panic_threshold` (a Percent `{ value }`), default 50. */
export function parseCommonLbConfig(c: Obj): number {
  const common = c.obj("common_lb_config");
  if (common === null) return 50;
  let threshold = 50;
  const percent = common.obj("healthy_panic_threshold");
  if (percent !== null) {
    const v = percent.get("value");
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 100) {
      percent.error("value", `expected a number from 0 to 100, got ${JSON.stringify(v ?? null)}`);
    } else {
      threshold = v;
    }
    percent.done();
  }
  common.ignoreBecause("update_merge_window", "membership updates apply at once");
  common.ignoreBecause(
    "ignore_new_hosts_until_first_hc",
    "new hosts start failed until their first check, as Envoy's default",
  );
  common.unsupported(
    "zone_aware_lb_config",
    "locality_weighted_lb_config",
    "consistent_hashing_lb_config",
    "close_connections_on_host_set_change",
    "override_host_status",
  );
  common.done();
  return threshold;
}
