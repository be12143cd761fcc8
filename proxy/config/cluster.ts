import { isIP } from "node:net";
import { parseAddress } from "./address.js";
import { type ExtensionSpec, resolveExtension } from "./extension.js";
import { parseCommonLbConfig, parseHealthChecks } from "./health_check.js";
import type {
  CircuitBreakers,
  CircuitBreakerThresholds,
  ClusterConfig,
  DiscoveryType,
  EndpointConfig,
  SocketAddress,
} from "./model.js";
import { parseOutlierDetection } from "./outlier_detection.js";
import { type ProtocolOptions, readHttp2Settings } from "./protocol_options.js";
import type { Obj } from "./reader.js";
import { CIRCUIT_BREAKER_THRESHOLDS, checkShape, UPSTREAM_CONNECTION_OPTIONS } from "./shape.js";
import { clusterTls } from "./tls.js";
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
  const dnsResolvers = parseDnsResolvers(c);

  let leastRequestChoiceCount = 2;
  const lr = c.obj("least_request_lb_config");
  if (lr !== null) {
    leastRequestChoiceCount = lr.int("choice_count", 2, 2);
    lr.unsupported("active_request_bias", "slow_start_config");
    lr.done();
  }

  c.ignore("per_connection_buffer_limit_bytes", "metadata", "alt_stat_name");
  const circuitBreakers = parseCircuitBreakers(c);
  const outlierDetection = parseOutlierDetection(c);
  readUnapplied(c);
  const healthCheck = parseHealthChecks(c);
  const healthyPanicThreshold = parseCommonLbConfig(c);
  const tls = clusterTls(c);
  c.unsupported(
    "transport_socket_matches",
    "upstream_bind_config",
    "lb_subset_config",
    "ring_hash_lb_config",
    "maglev_lb_config",
    "original_dst_lb_config",
    "load_balancing_policy",
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
  if (name === undefined || endpoints === null || tls === null) return null;
  return {
    name,
    type,
    lbPolicy,
    connectTimeoutMs,
    protocol: protocol.protocol ?? "http1",
    ...(protocol.http2 ?? readHttp2Settings(null)),
    endpoints,
    dnsRefreshRateMs,
    dnsLookupFamily,
    respectDnsTtl,
    dnsResolvers,
    leastRequestChoiceCount,
    upstreamIdleTimeoutMs: protocol.idleTimeoutMs ?? 3_600_000,
    maxRequestsPerConnection: protocol.maxRequestsPerConnection ?? 0,
    ...(circuitBreakers === undefined ? {} : { circuitBreakers }),
    ...(outlierDetection === undefined ? {} : { outlierDetection }),
    ...(healthCheck === undefined ? {} : { healthCheck }),
    ...(healthyPanicThreshold === 50 ? {} : { healthyPanicThreshold }),
    ...(tls === undefined ? {} : { tls }),
  };
}

const DNS_RESOLVERS = {
  cares: {
    name: "envoy.network.dns_resolver.cares",
    deprecatedNames: [],
    typeUrl: "type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig",
  },
} as const satisfies Record<string, ExtensionSpec>;

/**
 * The DNS servers a cluster asks, chosen as Envoy 1.40 does: `typed_dns_resolver_config` (c-ares,
 * its `resolvers`), else `dns_resolution_config.resolvers`, else `dns_resolvers` (the last two
 * deprecated in v3). The first of these present wins even when its list is empty; empty = the system
 * resolver. Addresses are IP literals with a port (c-ares takes any port; Envoy requires one).
 */
function parseDnsResolvers(c: Obj): SocketAddress[] {
  const addresses = (o: Obj) =>
    o
      .objList("resolvers")
      .map((a) => parseAddress(a, { ipOnly: true, allowPortZero: false }))
      .filter((a): a is SocketAddress => a !== null);
  if (c.has("dns_resolvers")) c.ctx.deprecatedInV3(c.at("dns_resolvers"), "typed_dns_resolver_config");
  const legacy = c
    .objList("dns_resolvers")
    .map((a) => parseAddress(a, { ipOnly: true, allowPortZero: false }))
    .filter((a): a is SocketAddress => a !== null);
  let chosen: SocketAddress[] | null = null;
  const typed = c.obj("typed_dns_resolver_config");
  if (typed !== null) {
    const cares = resolveExtension(typed, DNS_RESOLVERS, "DNS resolver");
    typed.done();
    if (cares !== null) {
      chosen = addresses(cares.body);
      readResolverOptions(cares.body);
      cares.body.unsupported(
        "use_resolvers_as_fallback",
        "filter_unroutable_families",
        "udp_max_queries",
        "query_timeout_seconds",
        "query_tries",
        "rotate_nameservers",
        "edns0_max_payload_size",
        "max_udp_channel_duration",
        "reinit_channel_on_timeout",
      );
      cares.body.done();
    }
  }
  const resolution = c.obj("dns_resolution_config");
  if (resolution !== null) {
    c.ctx.deprecatedInV3(c.at("dns_resolution_config"), "typed_dns_resolver_config");
    const servers = addresses(resolution);
    chosen ??= servers;
    readResolverOptions(resolution);
    resolution.done();
  }
  return chosen ?? legacy;
}

/** `dns_resolver_options`: we never apply search domains to a cluster's own servers. */
function readResolverOptions(o: Obj): void {
  const options = o.obj("dns_resolver_options");
  if (options === null) return;
  if (options.bool("use_tcp_for_dns_lookups", false))
    options.error("use_tcp_for_dns_lookups", "unsupported value true (echomesh-proxy queries over UDP)");
  options.ignoreBecause(
    "no_default_search_domain",
    "a cluster's own DNS servers are asked for the name as written, without search domains",
  );
  options.done();
}

/** Envoy's thresholds for a priority without an entry in `circuit_breakers.thresholds`. */
export const CIRCUIT_BREAKER_DEFAULTS: Readonly<CircuitBreakerThresholds> = {
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
  trackRemaining: false,
};

/** A cluster's thresholds per priority: its `circuit_breakers`, or Envoy's defaults. */
export function circuitBreakersOf(config: ClusterConfig): CircuitBreakers {
  return config.circuitBreakers ?? { default: CIRCUIT_BREAKER_DEFAULTS, high: CIRCUIT_BREAKER_DEFAULTS };
}

/**
 * `circuit_breakers`: the DEFAULT and HIGH `thresholds` (a priority without an entry keeps Envoy's
 * defaults). Undefined when the cluster has none. `per_host_thresholds`, `retry_budget`
 * and `max_connection_pools` are accepted and not applied (a warning).
 */
function parseCircuitBreakers(c: Obj): CircuitBreakers | undefined {
  const breakers = c.obj("circuit_breakers");
  if (breakers === null) return undefined;
  const out: CircuitBreakers = {
    default: { ...CIRCUIT_BREAKER_DEFAULTS },
    high: { ...CIRCUIT_BREAKER_DEFAULTS },
  };
  const seen = new Set<string>();
  for (const t of breakers.objList("thresholds")) {
    const priority = t.enumOf("priority", { DEFAULT: "default", HIGH: "high" } as const, "default");
    if (seen.has(priority)) t.error("priority", `a second ${priority.toUpperCase()} entry`);
    seen.add(priority);
    const d = CIRCUIT_BREAKER_DEFAULTS;
    out[priority] = {
      maxConnections: t.int("max_connections", d.maxConnections),
      maxPendingRequests: t.int("max_pending_requests", d.maxPendingRequests),
      maxRequests: t.int("max_requests", d.maxRequests),
      maxRetries: t.int("max_retries", d.maxRetries),
      trackRemaining: t.bool("track_remaining", false),
    };
    t.ignoreBecause("retry_budget", "max_retries applies instead");
    t.ignoreBecause("max_connection_pools", "one pool per host, never limited");
    checkShape(t, CIRCUIT_BREAKER_THRESHOLDS);
  }
  const perHost = breakers.objList("per_host_thresholds");
  if (perHost.length > 0)
    breakers.ignoreBecause("per_host_thresholds", "only the cluster-wide thresholds apply");
  for (const t of perHost) {
    t.enumOf("priority", { DEFAULT: "default", HIGH: "high" }, "default");
    checkShape(t, CIRCUIT_BREAKER_THRESHOLDS);
  }
  breakers.done();
  return out;
}

/**
 * What Envoy applies only when upstreams fail or the load is heavy: accepted (their shape checked),
 * named in a warning, not applied. While every host answers and no limit is reached, a proxy
 * without them forwards exactly what Envoy forwards.
 */
function readUnapplied(c: Obj): void {
  const options = c.obj("upstream_connection_options");
  if (options !== null) {
    c.ignoreBecause(
      "upstream_connection_options",
      "echomesh-proxy sets no TCP keepalive on upstream connections",
    );
    checkShape(options, UPSTREAM_CONNECTION_OPTIONS);
  }
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
