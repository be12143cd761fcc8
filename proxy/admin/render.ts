/**
 * Bodies of the admin endpoints in Envoy's formats (docs/root/operations/admin.rst).
 */
import type { Bootstrap } from "../config/model.js";
import { type ClusterStatus, hostKey, type ListenerStatus } from "./status.js";

export type ServerState = "LIVE" | "DRAINING" | "PRE_INITIALIZING" | "INITIALIZING";

/** Envoy's `/clusters` text: `<cluster>::<host:port>::<stat>::<value>` lines. */
export function renderClustersText(clusters: readonly ClusterStatus[]): string {
  let out = "";
  for (const c of clusters) {
    out += `${c.name}::observability_name::${c.name}\n`;
    out += `${c.name}::added_via_api::false\n`;
    for (const h of c.hosts) {
      const p = `${c.name}::${hostKey(h)}::`;
      const s = h.stats;
      out += `${p}cx_active::${s.cxActive}\n`;
      out += `${p}cx_total::${s.cxTotal}\n`;
      out += `${p}rq_active::${s.rqActive}\n`;
      out += `${p}rq_error::${s.rqError}\n`;
      out += `${p}rq_success::${s.rqSuccess}\n`;
      out += `${p}rq_total::${s.rqTotal}\n`;
      out += `${p}hostname::${h.hostname}\n`;
      out += `${p}health_flags::${healthFlags(h)}\n`;
      out += `${p}weight::${h.weight}\n`;
      out += `${p}region::\n${p}zone::\n${p}sub_zone::\n`;
      out += `${p}canary::false\n${p}priority::0\n`;
      out += `${p}success_rate::-1\n${p}local_origin_success_rate::-1\n`;
    }
  }
  return out;
}

function healthFlags(h: { healthy: boolean; draining: boolean }): string {
  if (h.healthy && !h.draining) return "healthy";
  let flags = "";
  if (!h.healthy) flags += "/failed_active_hc";
  if (h.draining) flags += "/pending_dynamic_removal";
  return flags;
}

/** Envoy's `/clusters?format=json` (`envoy.admin.v3.Clusters`). */
export function renderClustersJson(clusters: readonly ClusterStatus[]): string {
  const counter = (name: string, value: number) => ({ name, value: String(value), type: "COUNTER" });
  const gauge = (name: string, value: number) => ({ name, value: String(value), type: "GAUGE" });
  return JSON.stringify(
    {
      cluster_statuses: clusters.map((c) => ({
        name: c.name,
        added_via_api: false,
        observability_name: c.name,
        host_statuses: c.hosts.map((h) => ({
          address: { socket_address: { address: h.address, port_value: h.port } },
          stats: [
            gauge("cx_active", h.stats.cxActive),
            counter("cx_total", h.stats.cxTotal),
            gauge("rq_active", h.stats.rqActive),
            counter("rq_error", h.stats.rqError),
            counter("rq_success", h.stats.rqSuccess),
            counter("rq_total", h.stats.rqTotal),
          ],
          health_status: {
            eds_health_status: h.draining ? "DRAINING" : "HEALTHY",
            ...(h.healthy ? {} : { failed_active_health_check: true }),
            ...(h.draining ? { pending_dynamic_removal: true } : {}),
          },
          weight: h.weight,
          hostname: h.hostname,
          locality: {},
        })),
      })),
    },
    null,
    1,
  );
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
    (_key, value: unknown) => {
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
