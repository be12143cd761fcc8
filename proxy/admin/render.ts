/**
 * Bodies of the admin endpoints in Envoy's formats (docs/root/operations/admin.rst).
 */
import { CIRCUIT_BREAKER_DEFAULTS } from "../config/cluster.js";
import type { Bootstrap, CircuitBreakers, CircuitBreakerThresholds } from "../config/model.js";
import { HOST_STATS, type HostStats } from "../conn_pool/host_stats.js";
import { HealthFlag } from "../upstream/host.js";
import { type ClusterStatus, type HostStatus, hostKey, type ListenerStatus } from "./status.js";

/** The per-host stats in their declared order (by name, as Envoy prints them in `/clusters`). */
const HOST_STAT_NAMES = Object.keys(HOST_STATS.stats) as Array<keyof HostStats>;

/** `?format=json` lists a host's counters first, then its gauges, each by name (Envoy's order). */
const HOST_STAT_NAMES_JSON = [
  ...HOST_STAT_NAMES.filter((n) => HOST_STATS.stats[n].kind === "counter"),
  ...HOST_STAT_NAMES.filter((n) => HOST_STATS.stats[n].kind === "gauge"),
];

export type ServerState = "LIVE" | "DRAINING" | "PRE_INITIALIZING" | "INITIALIZING";

/** A priority's thresholds under Envoy's names, in the order `/clusters` prints them. */
function thresholdFields(t: CircuitBreakerThresholds): Record<string, number> {
  return {
    max_connections: t.maxConnections,
    max_pending_requests: t.maxPendingRequests,
    max_requests: t.maxRequests,
    max_retries: t.maxRetries,
  };
}

/** The cluster's thresholds (Envoy's defaults when the view carries none). */
function breakersOf(c: ClusterStatus): CircuitBreakers {
  return c.circuitBreakers ?? { default: CIRCUIT_BREAKER_DEFAULTS, high: CIRCUIT_BREAKER_DEFAULTS };
}

/** Envoy's `/clusters` text: `<cluster>::<field>::<value>` and `<cluster>::<host:port>::<field>::<value>` lines. */
export function renderClustersText(clusters: readonly ClusterStatus[]): string {
  let out = "";
  for (const c of clusters) {
    out += `${c.name}::observability_name::${c.name}\n`;
    // A cluster with outlier detection: its last interval's success-rate figures (Envoy's %g).
    const o = c.outlier;
    if (o !== undefined) {
      out += `${c.name}::outlier::success_rate_average::${g(o.successRateAverage)}\n`;
      out += `${c.name}::outlier::success_rate_ejection_threshold::${g(o.successRateEjectionThreshold)}\n`;
      out += `${c.name}::outlier::local_origin_success_rate_average::${g(o.localOriginSuccessRateAverage)}\n`;
      out += `${c.name}::outlier::local_origin_success_rate_ejection_threshold::${g(o.localOriginSuccessRateEjectionThreshold)}\n`;
    }
    const breakers = breakersOf(c);
    for (const [priority, t] of [
      ["default_priority", breakers.default],
      ["high_priority", breakers.high],
    ] as const) {
      for (const [name, value] of Object.entries(thresholdFields(t))) {
        out += `${c.name}::${priority}::${name}::${value}\n`;
      }
    }
    out += `${c.name}::added_via_api::${c.addedViaApi === true}\n`;
    for (const h of c.hosts) {
      const p = `${c.name}::${hostKey(h)}::`;
      for (const name of HOST_STAT_NAMES) out += `${p}${name}::${h.stats[name]}\n`;
      out += `${p}hostname::${h.hostname}\n`;
      out += `${p}health_flags::${healthFlags(h)}\n`;
      out += `${p}weight::${h.weight}\n`;
      out += `${p}region::\n${p}zone::\n${p}sub_zone::\n`;
      out += `${p}canary::false\n${p}priority::0\n`;
      out += `${p}success_rate::${h.successRate ?? -1}\n${p}local_origin_success_rate::${h.localOriginSuccessRate ?? -1}\n`;
    }
  }
  return out;
}

/** fmt's `{:g}` (printf's %g) for the values `/clusters` prints with it: 6 significant digits. */
function g(x: number): string {
  return String(Number(x.toPrecision(6)));
}

/** Envoy's `HostUtility::healthFlagsToString`: "healthy", or each set flag in Envoy's order. */
function healthFlags(h: { healthFlags: number; draining: boolean }): string {
  if (h.healthFlags === 0 && !h.draining) return "healthy";
  let flags = "";
  if (h.healthFlags & HealthFlag.FAILED_ACTIVE_HC) flags += "/failed_active_hc";
  if (h.healthFlags & HealthFlag.FAILED_OUTLIER_CHECK) flags += "/failed_outlier_check";
  if (h.draining) flags += "/pending_dynamic_removal";
  if (h.healthFlags & HealthFlag.PENDING_ACTIVE_HC) flags += "/pending_active_hc";
  return flags;
}

/**
 * Envoy's `/clusters?format=json` (`envoy.admin.v3.Clusters` in protobuf's JSON: fields at their
 * default, such as a 0 stat value, `added_via_api: false` or an empty hostname, are left out).
 */
export function renderClustersJson(clusters: readonly ClusterStatus[]): string {
  return JSON.stringify(
    {
      cluster_statuses: clusters.map((c) => ({
        name: c.name,
        ...(c.addedViaApi === true ? { added_via_api: true } : {}),
        ...(c.hosts.length === 0 ? {} : { host_statuses: c.hosts.map(hostJson) }),
        circuit_breakers: {
          thresholds: [
            thresholdFields(breakersOf(c).default),
            { priority: "HIGH", ...thresholdFields(breakersOf(c).high) },
          ],
        },
        observability_name: c.name,
      })),
    },
    null,
    1,
  );
}

function hostJson(h: HostStatus): Record<string, unknown> {
  return {
    address: { socket_address: { address: h.address, port_value: h.port } },
    stats: HOST_STAT_NAMES_JSON.map((name) => ({
      ...(HOST_STATS.stats[name].kind === "gauge" ? { type: "GAUGE" } : {}),
      ...(h.stats[name] === 0 ? {} : { value: String(h.stats[name]) }),
      name,
    })),
    health_status: {
      ...(h.healthFlags & HealthFlag.FAILED_ACTIVE_HC ? { failed_active_health_check: true } : {}),
      ...(h.healthFlags & HealthFlag.FAILED_OUTLIER_CHECK ? { failed_outlier_check: true } : {}),
      ...(h.draining ? { pending_dynamic_removal: true } : {}),
      ...(h.healthFlags & HealthFlag.PENDING_ACTIVE_HC ? { pending_active_hc: true } : {}),
      eds_health_status: "HEALTHY",
    },
    weight: h.weight,
    ...(h.hostname === "" ? {} : { hostname: h.hostname }),
    locality: {},
  };
}

/** Envoy's `/listeners`: `<name>::<ip:port>` per line. */
export function renderListenersText(listeners: readonly ListenerStatus[]): string {
  return listeners.map((l) => `${l.name}::${hostKey(l)}\n`).join("");
}

export function renderListenersJson(listeners: readonly ListenerStatus[]): string {
  return JSON.stringify(
    {
      listener_statuses: listeners.map((l) => ({
        name: l.name,
        local_address: { socket_address: { address: l.address, port_value: l.port } },
      })),
    },
    null,
    1,
  );
}

/**
 * `/config_dump`: the loaded configuration as this proxy understood it (the normalised model of
 * proxy/config/model.ts, not Envoy's protos): RegExps print as their source, Maps as objects and
 * Sets as arrays.
 */
export function renderConfigDump(bootstrap: Bootstrap): string {
  return JSON.stringify(
    { configs: [{ "@type": "echomesh.proxy.Bootstrap", bootstrap }] },
    (key, value: unknown) => {
      // As Envoy's dump: a TLS certificate's private key and password are never shown.
      if ((key === "privateKey" || key === "password") && typeof value === "string") return "[redacted]";
      if (value instanceof RegExp) return value.source;
      if (value instanceof Map) return Object.fromEntries(value);
      if (value instanceof Set) return [...value];
      return value;
    },
    1,
  );
}

/** Envoy prints durations in protobuf JSON form: whole seconds with an `s`. */
export function durationSeconds(ms: number): string {
  return `${Math.floor(ms / 1000)}s`;
}
