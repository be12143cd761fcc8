import { isIP } from "node:net";
import { parseAddress } from "./address.js";
import type { ClusterConfig, DiscoveryType, EndpointConfig } from "./model.js";
import type { ProtocolOptions } from "./protocol_options.js";
import type { Obj } from "./reader.js";
import { clusterHosts, clusterProtocolFields } from "./v2.js";
import { type EndpointInput, loadAssignment, typedProtocolOptions } from "./v3.js";

const TYPES = {
  STATIC: "static",
  STRICT_DNS: "strict_dns",
  LOGICAL_DNS: "logical_dns",
  EDS: null,
  ORIGINAL_DST: null,
} as const;
const LB_POLICIES = {
  ROUND_ROBIN: "round_robin",
  LEAST_REQUEST: "least_request",
  RANDOM: "random",
  RING_HASH: null,
  MAGLEV: null,
  CLUSTER_PROVIDED: null,
  ORIGINAL_DST_LB: null,
  LOAD_BALANCING_POLICY_CONFIG: null,
} as const;
const DNS_FAMILIES = {
  AUTO: "auto",
  V4_ONLY: "v4_only",
  V6_ONLY: "v6_only",
  V4_PREFERRED: "v4_preferred",
  ALL: "all",
} as const;

/**
 * A cluster. `connect_timeout` defaults to 5 s in both dialects (the v2 API required it; a missing
 * value is accepted rather than rejected). Endpoints come from v2 `hosts` or v3 `load_assignment`.
 */
export function parseCluster(c: Obj): ClusterConfig | null {
  const name = c.name("name");
  const type: DiscoveryType = c.enumOf("type", TYPES, "static");
  c.unsupported("cluster_type", "eds_cluster_config");
  const lbPolicy = c.enumOf("lb_policy", LB_POLICIES, "round_robin");
  const connectTimeoutMs = c.duration("connect_timeout", 5_000);
  if (c.has("connect_timeout") && connectTimeoutMs === 0)
    c.error("connect_timeout", "must be greater than 0");

  const v2Protocol = clusterProtocolFields(c);
  const v3Protocol = typedProtocolOptions(c);
  if (v2Protocol.protocol !== undefined && v3Protocol.protocol !== undefined) {
    c.error("typed_extension_protocol_options", "conflicts with the cluster-level protocol options; use one");
  }
  const protocol: ProtocolOptions = { ...v2Protocol, ...v3Protocol };
  c.unsupported("protocol_selection");

  const endpoints = parseEndpoints(c, type);
  const dnsRefreshRateMs = c.duration("dns_refresh_rate", 5_000);
  if (c.has("dns_refresh_rate") && dnsRefreshRateMs === 0)
    c.error("dns_refresh_rate", "must be greater than 0");
  const dnsLookupFamily = c.enumOf("dns_lookup_family", DNS_FAMILIES, "auto");
  const respectDnsTtl = c.bool("respect_dns_ttl", false);

  let leastRequestChoiceCount = 2;
  const lr = c.obj("least_request_lb_config");
  if (lr !== null) {
    leastRequestChoiceCount = lr.int("choice_count", 2, 2);
    lr.unsupported("active_request_bias", "slow_start_config");
    lr.done();
  }

  c.ignore("per_connection_buffer_limit_bytes", "metadata", "alt_stat_name");
  c.unsupported(
    "tls_context",
    "transport_socket",
    "transport_socket_matches",
    "health_checks",
    "outlier_detection",
    "circuit_breakers",
    "upstream_connection_options",
    "upstream_bind_config",
    "lb_subset_config",
    "ring_hash_lb_config",
    "maglev_lb_config",
    "original_dst_lb_config",
    "common_lb_config",
    "load_balancing_policy",
    "dns_resolvers",
    "dns_resolution_config",
    "typed_dns_resolver_config",
    "use_tcp_for_dns_lookups",
    "dns_failure_refresh_rate",
    "close_connections_on_host_health_failure",
    "ignore_health_on_host_removal",
    "filters",
    "cleanup_interval",
    "track_cluster_stats",
    "preconnect_policy",
    "upstream_config",
    "wait_for_warm_on_init",
  );
  c.done();
  if (name === undefined || endpoints === null) return null;
  return {
    name,
    type,
    lbPolicy,
    connectTimeoutMs,
    protocol: protocol.protocol ?? "http1",
    http2MaxConcurrentStreams: protocol.http2MaxConcurrentStreams ?? 2_147_483_647,
    endpoints,
    dnsRefreshRateMs,
    dnsLookupFamily,
    respectDnsTtl,
    leastRequestChoiceCount,
    upstreamIdleTimeoutMs: protocol.idleTimeoutMs ?? 4_000,
    maxRequestsPerConnection: protocol.maxRequestsPerConnection ?? 0,
  };
}

function parseEndpoints(c: Obj, type: DiscoveryType): EndpointConfig[] | null {
  c.oneOf(["hosts", "load_assignment"]);
  const inputs: EndpointInput[] =
    clusterHosts(c)?.map((address) => ({ address, weight: 1, hostname: null })) ?? loadAssignment(c) ?? [];
  const dns = type !== "static";
  const out: EndpointConfig[] = [];
  let ok = true;
  for (const input of inputs) {
    const address = parseAddress(input.address, { ipOnly: !dns, allowPortZero: false });
    if (address === null) {
      ok = false;
      continue;
    }
    const hostname = input.hostname ?? (dns && isIP(address.address) === 0 ? address.address : null);
    out.push({ address, weight: input.weight, hostname });
  }
  if (type === "logical_dns" && inputs.length !== 1) {
    c.error(
      c.has("hosts") ? "hosts" : "load_assignment",
      `a logical_dns cluster needs exactly one host, got ${inputs.length}`,
    );
    ok = false;
  }
  return ok ? out : null;
}
