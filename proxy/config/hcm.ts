import { isIP } from "node:net";
import { parseAccessLogs } from "./access_log.js";
import { type ExtensionSpec, resolveExtension } from "./extension.js";
import type { CidrRange, CodecType, HttpConnectionManagerConfig, RouteConfiguration } from "./model.js";
import { HEADERS_WITH_UNDERSCORES, readHttp2FloodLimits, readHttp2Settings } from "./protocol_options.js";
import type { Obj } from "./reader.js";
import { parseRouteConfiguration } from "./route_config.js";
import { hcmIdleTimeout } from "./v2.js";
import { upgradeConfigs } from "./v3.js";

export const HCM_TYPE_URL =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
export const ROUTER_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";

export const NETWORK_FILTERS = {
  hcm: {
    name: "envoy.filters.network.http_connection_manager",
    deprecatedNames: ["envoy.http_connection_manager"],
    typeUrl: HCM_TYPE_URL,
    v2TypeUrl:
      "type.googleapis.com/envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager",
  },
} satisfies Record<string, ExtensionSpec>;

const HTTP_FILTERS = {
  router: {
    name: "envoy.filters.http.router",
    deprecatedNames: ["envoy.router"],
    typeUrl: ROUTER_TYPE_URL,
    v2TypeUrl: "type.googleapis.com/envoy.config.filter.http.router.v2.Router",
  },
} satisfies Record<string, ExtensionSpec>;

const SERVER_HEADER_TRANSFORMATIONS = {
  OVERWRITE: "overwrite",
  APPEND_IF_ABSENT: null,
  PASS_THROUGH: null,
} as const;
const ESCAPED_SLASHES_ACTIONS = {
  KEEP_UNCHANGED: "keep_unchanged",
  IMPLEMENTATION_SPECIFIC_DEFAULT: "keep_unchanged",
  REJECT_REQUEST: null,
  UNESCAPE_AND_REDIRECT: null,
  UNESCAPE_AND_FORWARD: null,
} as const;
const NOT_NORMALIZED =
  "unsupported value true (echomesh-proxy routes the path as received; only false is supported)";

/** The http_connection_manager's config body (`config:` or `typed_config:`). */
export function parseHcm(h: Obj): HttpConnectionManagerConfig | null {
  const statPrefix = h.name("stat_prefix");
  const codecType = h.enumOf<CodecType>(
    "codec_type",
    { AUTO: "auto", HTTP1: "http1", HTTP2: "http2", HTTP3: null },
    "auto",
  );
  h.oneOf(["route_config", "rds", "scoped_routes"], true);
  h.unsupported("rds", "scoped_routes");
  const rc = h.obj("route_config");
  const routeConfig: RouteConfiguration | null = rc === null ? null : parseRouteConfiguration(rc);
  parseHttpFilters(h);

  const http1 = h.obj("http_protocol_options");
  const acceptHttp10 = http1?.bool("accept_http_10", false) ?? false;
  const defaultHostForHttp10 = http1?.str("default_host_for_http_10") ?? null;
  http1?.unsupported(
    "header_key_format",
    "enable_trailers",
    "allow_chunked_length",
    "allow_absolute_url",
    "override_stream_error_on_invalid_http_message",
  );
  http1?.done();

  const http2 = h.obj("http2_protocol_options");
  const allowConnect = http2?.bool("allow_connect", false) ?? false;
  const http2Settings = readHttp2Settings(http2);
  const http2Flood = readHttp2FloodLimits(http2);
  http2?.done();

  let idleTimeoutMs = hcmIdleTimeout(h) ?? 3_600_000;
  let maxHeadersCount = 100;
  let maxRequestsPerConnection = 0;
  const common = h.obj("common_http_protocol_options");
  if (common !== null) {
    idleTimeoutMs = common.duration("idle_timeout", idleTimeoutMs);
    maxHeadersCount = common.int("max_headers_count", maxHeadersCount, 1);
    maxRequestsPerConnection = common.int("max_requests_per_connection", 0);
    common.enumOf("headers_with_underscores_action", HEADERS_WITH_UNDERSCORES, "allow");
    common.unsupported("max_connection_duration", "max_stream_duration");
    common.done();
  }
  // Envoy's defaults are what echomesh-proxy does; other values are not implemented.
  h.enumOf("server_header_transformation", SERVER_HEADER_TRANSFORMATIONS, "overwrite");
  if (h.bool("normalize_path", false)) h.error("normalize_path", NOT_NORMALIZED);
  if (h.bool("merge_slashes", false)) h.error("merge_slashes", NOT_NORMALIZED);
  h.enumOf("path_with_escaped_slashes_action", ESCAPED_SLASHES_ACTIONS, "keep_unchanged");

  const config = {
    codecType,
    useRemoteAddress: h.bool("use_remote_address", false),
    xffNumTrustedHops: h.int("xff_num_trusted_hops", 0),
    generateRequestId: h.bool("generate_request_id", true),
    serverName: h.str("server_name") ?? "envoy",
    acceptHttp10,
    defaultHostForHttp10,
    allowConnect,
    ...http2Settings,
    ...http2Flood,
    upgrades: upgradeConfigs(h),
    streamIdleTimeoutMs: h.duration("stream_idle_timeout", 300_000),
    requestTimeoutMs: h.duration("request_timeout", 0),
    requestHeadersTimeoutMs: h.duration("request_headers_timeout", 0),
    delayedCloseTimeoutMs: h.duration("delayed_close_timeout", 1000),
    idleTimeoutMs,
    drainTimeoutMs: h.duration("drain_timeout", 5_000),
    maxRequestHeadersKb: h.int("max_request_headers_kb", 60, 1, 8192),
    maxHeadersCount,
    maxRequestsPerConnection,
    accessLogs: parseAccessLogs(h),
    ...internalAddressConfig(h),
  };
  h.unsupported(
    "tracing",
    "add_user_agent",
    "via",
    "skip_xff_append",
    "forward_client_cert_details",
    "set_current_client_cert_details",
    "preserve_external_request_id",
    "always_set_request_id_in_response",
    "local_reply_config",
    "strip_matching_host_port",
    "strip_any_host_port",
    "proxy_100_continue",
    "stream_error_on_invalid_http_message",
    "represent_ipv4_remote_address_as_ipv4_mapped_ipv6",
    "original_ip_detection_extensions",
    "request_id_extension",
    "http3_protocol_options",
    "strip_trailing_host_dot",
    "append_x_forwarded_port",
    "access_log_flush_interval",
    "access_log_options",
  );
  h.done();
  if (statPrefix === undefined || routeConfig === null) return null;
  return { statPrefix, routeConfig, ...config };
}

/**
 * `internal_address_config`: the client addresses that are internal (their x-envoy-* headers are
 * kept and obeyed). Absent: the dialect's default (none in Envoy 1.40; RFC 1918 and loopback in 1.7).
 */
function internalAddressConfig(h: Obj): { internalAddresses?: CidrRange[] } {
  const c = h.obj("internal_address_config");
  if (c === null) return {};
  c.bool("unix_sockets", false);
  const ranges = c.objList("cidr_ranges").map((r) => {
    const prefix = r.str("address_prefix") ?? "";
    const length = r.int("prefix_len", 0, 0, prefix.includes(":") ? 128 : 32);
    if (isIP(prefix) === 0) r.error("address_prefix", `not an IP address: ${JSON.stringify(prefix)}`);
    r.done();
    return { prefix, length };
  });
  c.done();
  return { internalAddresses: ranges };
}

/** `http_filters`: the router, last (the only HTTP filter implemented). */
function parseHttpFilters(h: Obj): void {
  const filters = h.objList("http_filters");
  let routers = 0;
  filters.forEach((f, i) => {
    const resolved = resolveExtension(f, HTTP_FILTERS, "HTTP filter");
    f.unsupported("is_optional", "disabled");
    f.done();
    if (resolved === null) return;
    routers++;
    const router = resolved.body;
    router.ignore("dynamic_stats", "start_child_span", "suppress_grpc_request_failure_code_stats");
    router.unsupported(
      "upstream_log",
      "upstream_log_options",
      "suppress_envoy_headers",
      "strict_check_headers",
      "respect_expected_rq_timeout",
      "upstream_http_filters",
    );
    router.done();
    if (i !== filters.length - 1) f.error(null, "the router must be the last HTTP filter");
  });
  if (routers === 0 && filters.length === 0) {
    h.error("http_filters", "must end with the router filter (envoy.filters.http.router)");
  }
}
