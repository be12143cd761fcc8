import { type ExtensionSpec, resolveExtension } from "./extension.js";
import { didYouMean } from "./hint.js";
import type {
  DirectResponseAction,
  ForwardAction,
  HeaderMatcher,
  RedirectAction,
  RetryPolicy,
  WeightedClusterEntry,
} from "./model.js";
import { show } from "./path.js";
import type { Obj } from "./reader.js";
import { toJsSubstitution } from "./regex.js";
import { parseHeaderMatcher } from "./route_match.js";
import { hostRewrite, useWebsocket } from "./v2.js";
import { hostRewriteLiteral, regexMatcher, upgradeConfigs } from "./v3.js";

/**
 * Fields every route-table scope (virtual host, route, weighted cluster) may carry and this proxy does
 * not apply: per-scope header mutation and per-filter config.
 */
export const PER_SCOPE_UNSUPPORTED = [
  "request_headers_to_add",
  "request_headers_to_remove",
  "response_headers_to_add",
  "response_headers_to_remove",
  "typed_per_filter_config",
  "per_filter_config",
] as const;

/** The `route:` action (forward to a cluster). */
export function parseForward(a: Obj): ForwardAction | null {
  const target = a.oneOf(
    [
      "cluster",
      "weighted_clusters",
      "cluster_header",
      "cluster_specifier_plugin",
      "inline_cluster_specifier_plugin",
    ],
    true,
  );
  a.unsupported("cluster_header", "cluster_specifier_plugin", "inline_cluster_specifier_plugin");
  let clusters: WeightedClusterEntry[] | null = null;
  let totalWeight = 1;
  if (target === "cluster") {
    const name = a.name("cluster");
    if (name !== undefined) {
      a.ctx.referenceCluster(a.at("cluster"), name);
      clusters = [{ name, weight: 1 }];
    }
  } else if (target === "weighted_clusters") {
    const w = a.obj("weighted_clusters");
    const parsed = w === null ? null : parseWeighted(w);
    if (parsed !== null) ({ clusters, totalWeight } = parsed);
  }

  const rewrite = a.oneOf(["prefix_rewrite", "regex_rewrite", "path_rewrite_policy"]);
  a.unsupported("path_rewrite_policy");
  const prefixRewrite = a.str("prefix_rewrite") ?? null;
  let regexRewrite: ForwardAction["regexRewrite"] = null;
  if (rewrite === "regex_rewrite") {
    const rr = a.obj("regex_rewrite");
    if (rr !== null) {
      const pattern = rr.require("pattern") ? regexMatcher(rr, "pattern", "global") : null;
      const substitution = rr.require("substitution") ? rr.str("substitution") : undefined;
      rr.done();
      if (pattern !== null && substitution !== undefined) {
        regexRewrite = { regex: pattern.regex, substitution: toJsSubstitution(substitution) };
      }
    }
  }

  a.oneOf([
    "host_rewrite_literal",
    "host_rewrite",
    "auto_host_rewrite",
    "host_rewrite_header",
    "host_rewrite_path_regex",
  ]);
  a.unsupported("host_rewrite_header", "host_rewrite_path_regex");
  const hostRewriteLiteral_ = hostRewriteLiteral(a) ?? hostRewrite(a) ?? null;
  const autoHostRewrite = a.bool("auto_host_rewrite", false);

  const timeoutMs = a.duration("timeout", 15_000);
  const idleTimeoutMs = a.has("idle_timeout") ? a.duration("idle_timeout", 0) : null;
  const retry = a.obj("retry_policy");
  const retryPolicy = retry === null ? null : parseRetryPolicy(retry);
  const upgrades = upgradeConfigs(a);
  if (useWebsocket(a)) upgrades.set("websocket", true);
  const clusterNotFoundResponseCode = a.enumOf(
    "cluster_not_found_response_code",
    { SERVICE_UNAVAILABLE: 503, NOT_FOUND: 404, INTERNAL_SERVER_ERROR: 500 },
    503,
  );
  a.enumOf("priority", { DEFAULT: "default", HIGH: null }, "default");
  a.unsupported(
    "hash_policy",
    "request_mirror_policy",
    "request_mirror_policies",
    "cors",
    "rate_limits",
    "include_vh_rate_limits",
    "max_grpc_timeout",
    "grpc_timeout_offset",
    "max_stream_duration",
    "internal_redirect_policy",
    "internal_redirect_action",
    "max_internal_redirects",
    "hedge_policy",
    "metadata_match",
    "retry_policy_typed_config",
    "append_x_forwarded_host",
    "early_data_policy",
  );
  a.done();
  if (clusters === null) return null;
  return {
    kind: "forward",
    clusters,
    totalWeight,
    prefixRewrite,
    regexRewrite,
    hostRewriteLiteral: hostRewriteLiteral_,
    autoHostRewrite,
    timeoutMs,
    idleTimeoutMs,
    retryPolicy,
    upgrades,
    clusterNotFoundResponseCode,
  };
}

/**
 * `weighted_clusters`: the weights and their sum. `total_weight` must equal the sum in a v2 file
 * (Envoy 1.7 rejected anything else); Envoy 1.40 ignores it (deprecated), so a v3 file gets a warning.
 */
function parseWeighted(w: Obj): { clusters: WeightedClusterEntry[]; totalWeight: number } | null {
  const clusters: WeightedClusterEntry[] = [];
  const items = w.objList("clusters");
  if (items.length === 0) w.error("clusters", "at least one cluster is required");
  for (const c of items) {
    const name = c.name("name");
    const weight = c.require("weight") ? c.int("weight", 0) : 0;
    c.unsupported("cluster_header", "metadata_match", ...PER_SCOPE_UNSUPPORTED, "host_rewrite_literal");
    c.done();
    if (name !== undefined) {
      c.ctx.referenceCluster(c.at("name"), name);
      clusters.push({ name, weight });
    }
  }
  w.unsupported("runtime_key_prefix", "header_name", "random_value_specifier");
  const sum = clusters.reduce((s, c) => s + c.weight, 0);
  if (w.has("total_weight")) {
    const total = w.int("total_weight", sum, 1);
    const path = w.at("total_weight");
    if (total !== sum && clusters.length === items.length) {
      w.ctx.inDialect(path, {
        v2: { level: "error", message: `is ${total} but the cluster weights add up to ${sum}` },
        v3: {
          level: "warning",
          message: `deprecated and ignored (Envoy 1.40 uses the sum of the weights, ${sum})`,
        },
      });
    } else w.ctx.deprecatedInV3(path, "nothing: Envoy 1.40 uses the sum of the weights");
  }
  if (sum === 0 && clusters.length === items.length && items.length > 0) {
    w.error("clusters", "the cluster weights add up to 0");
  }
  w.done();
  return clusters.length === items.length && items.length > 0 ? { clusters, totalWeight: sum } : null;
}

/** retry_on conditions the router implements (Envoy's HTTP conditions). */
export const RETRY_ON = [
  "5xx",
  "gateway-error",
  "reset",
  "reset-before-request",
  "connect-failure",
  "envoy-ratelimited",
  "retriable-4xx",
  "refused-stream",
  "retriable-status-codes",
  "retriable-headers",
];
/** Accepted as Envoy accepts it; it never applies here (no HTTP/3 upstream). */
const NEVER_APPLIES = "http3-post-connect-failure";
/** Envoy's gRPC conditions (they read `grpc-status`): not implemented. */
const GRPC_RETRY_ON = ["cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"];

const PREVIOUS_HOSTS: Readonly<Record<"previousHosts", ExtensionSpec>> = {
  previousHosts: {
    name: "envoy.retry_host_predicates.previous_hosts",
    deprecatedNames: [],
    typeUrl: "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate",
  },
};

export function parseRetryPolicy(p: Obj): RetryPolicy {
  const retryOn = new Set<string>();
  const raw = p.str("retry_on") ?? "";
  for (const part of raw.split(",")) {
    const condition = part.trim().toLowerCase();
    if (condition === "") continue;
    if (RETRY_ON.includes(condition)) retryOn.add(condition);
    else if (condition === NEVER_APPLIES) {
      p.ctx.warn(p.at("retry_on"), `${show(condition)} never applies: echomesh-proxy has no HTTP/3 upstream`);
    } else if (GRPC_RETRY_ON.includes(condition)) {
      p.error(
        "retry_on",
        `unsupported value ${show(condition)} (gRPC conditions are not implemented; echomesh-proxy supports ${RETRY_ON.join(", ")})`,
      );
    } else {
      // Envoy 1.40 logs "Unknown retry_on policy token(s)" and ignores them.
      p.ctx.warn(
        p.at("retry_on"),
        `ignored unknown value ${show(condition)}${didYouMean(condition, [...RETRY_ON, NEVER_APPLIES, ...GRPC_RETRY_ON])}`,
      );
    }
  }
  const numRetries = p.int("num_retries", 1);
  const perTryTimeoutMs = p.duration("per_try_timeout", 0);
  const retriableStatusCodes = new Set<number>();
  for (const item of p.list("retriable_status_codes")) {
    const code = typeof item.value === "number" && Number.isInteger(item.value) ? item.value : Number.NaN;
    if (code >= 100 && code <= 599) retriableStatusCodes.add(code);
    else p.ctx.error(item.path, `expected an HTTP status code, got ${show(item.value)}`);
  }
  const retriableHeaders = headerMatchers(p, "retriable_headers");
  const retriableRequestHeaders = headerMatchers(p, "retriable_request_headers");
  let previousHosts = false;
  for (const entry of p.objList("retry_host_predicate")) {
    const ext = resolveExtension(entry, PREVIOUS_HOSTS, "retry host predicate");
    if (ext !== null) {
      previousHosts = true;
      ext.body.done();
    }
    entry.done();
  }
  const hostSelectionRetryMaxAttempts = p.int("host_selection_retry_max_attempts", 1);
  if (p.has("retry_priority")) {
    p.ignoreBecause(
      "retry_priority",
      "endpoints have one priority (0), so there is no other priority to move a retry to",
    );
  }
  if (p.has("rate_limited_retry_back_off")) {
    p.ignoreBecause(
      "rate_limited_retry_back_off",
      "retries always use retry_back_off (a reset header such as retry-after is not read)",
    );
  }
  let baseIntervalMs = 25;
  let maxIntervalMs = 250;
  const backOff = p.obj("retry_back_off");
  if (backOff !== null) {
    if (backOff.require("base_interval")) baseIntervalMs = backOff.duration("base_interval", 25);
    if (baseIntervalMs <= 0) backOff.error("base_interval", "must be greater than 0");
    maxIntervalMs = backOff.duration("max_interval", baseIntervalMs * 10);
    if (maxIntervalMs < baseIntervalMs) backOff.error("max_interval", "must not be less than base_interval");
    backOff.done();
  }
  p.unsupported("per_try_idle_timeout", "retry_options_predicates");
  p.done();
  return {
    retryOn,
    numRetries,
    perTryTimeoutMs,
    retriableStatusCodes,
    retriableHeaders,
    retriableRequestHeaders,
    previousHosts,
    hostSelectionRetryMaxAttempts,
    baseIntervalMs,
    maxIntervalMs,
  };
}

/** A list of header matchers (`retriable_headers`, `retriable_request_headers`). */
function headerMatchers(p: Obj, key: string): HeaderMatcher[] {
  const out: HeaderMatcher[] = [];
  for (const h of p.objList(key)) {
    const m = parseHeaderMatcher(h);
    if (m !== null) out.push(m);
  }
  return out;
}

export function parseRedirect(r: Obj): RedirectAction {
  r.oneOf(["https_redirect", "scheme_redirect"]);
  const httpsRedirect = r.bool("https_redirect", false);
  const schemeRedirect = r.str("scheme_redirect")?.toLowerCase() ?? null;
  const hostRedirect = r.str("host_redirect") ?? null;
  const portRedirect = r.has("port_redirect") ? r.int("port_redirect", 0, 1, 65535) : null;
  r.oneOf(["path_redirect", "prefix_rewrite", "regex_rewrite"]);
  r.unsupported("regex_rewrite");
  const pathRedirect = r.str("path_redirect") ?? null;
  const prefixRewrite = r.str("prefix_rewrite") ?? null;
  const responseCode = r.enumOf(
    "response_code",
    { MOVED_PERMANENTLY: 301, FOUND: 302, SEE_OTHER: 303, TEMPORARY_REDIRECT: 307, PERMANENT_REDIRECT: 308 },
    301,
  );
  const stripQuery = r.bool("strip_query", false);
  r.done();
  return {
    kind: "redirect",
    httpsRedirect,
    schemeRedirect,
    hostRedirect,
    portRedirect,
    pathRedirect,
    prefixRewrite,
    responseCode,
    stripQuery,
  };
}

export function parseDirectResponse(d: Obj): DirectResponseAction {
  const status = d.require("status") ? d.int("status", 200, 200, 599) : 200;
  let body: string | null = null;
  const b = d.obj("body");
  if (b !== null) {
    const kind = b.oneOf(["inline_string", "inline_bytes", "filename", "environment_variable"], true);
    b.unsupported("filename", "environment_variable");
    if (kind === "inline_string") body = b.str(kind) ?? null;
    if (kind === "inline_bytes") {
      const encoded = b.str(kind);
      if (encoded !== undefined) body = Buffer.from(encoded, "base64").toString("utf8");
    }
    b.done();
  }
  d.done();
  return { kind: "direct_response", status, body };
}
