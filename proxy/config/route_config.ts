import type { RouteAction, RouteConfig, RouteConfiguration, VirtualHostConfig } from "./model.js";
import { show } from "./path.js";
import type { Obj } from "./reader.js";
import {
  PER_SCOPE_UNSUPPORTED,
  parseDirectResponse,
  parseForward,
  parseRedirect,
  parseRetryPolicy,
} from "./route_action.js";
import { parseRouteMatch } from "./route_match.js";

/** An HCM's static `route_config`. */
export function parseRouteConfiguration(o: Obj): RouteConfiguration {
  const name = o.str("name") ?? "";
  // Static route tables have their clusters checked unless validate_clusters is false (as Envoy).
  const validateClusters = o.bool("validate_clusters", true);
  const refsBefore = o.ctx.clusterRefs.length;
  const ignorePortInHostMatching = o.bool("ignore_port_in_host_matching", false);
  const virtualHosts: VirtualHostConfig[] = [];
  const domainOwner = new Map<string, VirtualHostConfig>();
  // Virtual host names need not be unique (Envoy accepts duplicates; they only name stats).
  for (const v of o.objList("virtual_hosts")) {
    const vhost = parseVirtualHost(v);
    if (vhost === null) continue;
    vhost.domains.forEach((domain, i) => {
      const owner = domainOwner.get(domain);
      if (owner !== undefined) {
        const where =
          owner === vhost ? "in the same virtual host" : `already used by virtual host ${show(owner.name)}`;
        o.ctx.error(
          [...v.at("domains"), i],
          `duplicate domain ${show(domain)} (${where}; domains must be unique)`,
        );
      }
      domainOwner.set(domain, vhost);
    });
    virtualHosts.push(vhost);
  }
  o.unsupported(
    "vhds",
    "internal_only_headers",
    "request_headers_to_add",
    "request_headers_to_remove",
    "response_headers_to_add",
    "response_headers_to_remove",
    "most_specific_header_mutations_wins",
    "cluster_specifier_plugins",
    "request_mirror_policies",
    "typed_per_filter_config",
    "max_direct_response_body_size_bytes",
  );
  o.done();
  if (!validateClusters) o.ctx.clusterRefs.length = refsBefore;
  const out: RouteConfiguration = { name, virtualHosts };
  if (ignorePortInHostMatching) out.ignorePortInHostMatching = true;
  return out;
}

function parseVirtualHost(v: Obj): VirtualHostConfig | null {
  const name = v.name("name");
  const domains = v.require("domains") ? v.strList("domains").map((d) => d.toLowerCase()) : [];
  if (v.has("domains") && domains.length === 0 && v.list("domains").length === 0) {
    v.error("domains", "at least one domain is required");
  }
  domains.forEach((d, i) => {
    if (d === "") v.ctx.error([...v.at("domains"), i], "must not be empty");
  });
  const routes: RouteConfig[] = [];
  v.objList("routes").forEach((r, i) => {
    const route = parseRoute(r, `${name ?? "vhost"}/${i}`);
    if (route !== null) routes.push(route);
  });
  const retry = v.obj("retry_policy");
  const retryPolicy = retry === null ? null : parseRetryPolicy(retry);
  const includeRequestAttemptCount = v.bool("include_request_attempt_count", false);
  const includeAttemptCountInResponse = v.bool("include_attempt_count_in_response", false);
  v.ignore("metadata");
  v.unsupported(
    "require_tls",
    "virtual_clusters",
    "rate_limits",
    "cors",
    ...PER_SCOPE_UNSUPPORTED,
    "hedge_policy",
    "retry_policy_typed_config",
    "per_request_buffer_limit_bytes",
    "request_mirror_policies",
    "matcher",
  );
  v.done();
  return name === undefined
    ? null
    : { name, domains, routes, retryPolicy, includeRequestAttemptCount, includeAttemptCountInResponse };
}

function parseRoute(r: Obj, defaultName: string): RouteConfig | null {
  const name = r.str("name") ?? defaultName;
  const m = r.require("match") ? r.obj("match") : null;
  const match = m === null ? null : parseRouteMatch(m);
  const kind = r.oneOf(
    ["route", "redirect", "direct_response", "filter_action", "non_forwarding_action"],
    true,
  );
  let action: RouteAction | null = null;
  const body = kind === null ? null : r.obj(kind);
  if (body !== null) {
    if (kind === "route") action = parseForward(body);
    else if (kind === "redirect") action = parseRedirect(body);
    else if (kind === "direct_response") action = parseDirectResponse(body);
  }
  r.ignore("decorator", "metadata", "stat_prefix");
  r.unsupported(
    "filter_action",
    "non_forwarding_action",
    ...PER_SCOPE_UNSUPPORTED,
    "tracing",
    "per_request_buffer_limit_bytes",
  );
  r.done();
  return match === null || action === null ? null : { name, match, action };
}
