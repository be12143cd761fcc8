/**
 * The v2 (2018) spellings that v3 removed or deprecated. Each reader returns the model piece, or
 * undefined/null when the field is absent.
 * Removed in v3 (they mark a file v2, and are errors in a v3 file, as Envoy 1.40 rejects them):
 * filter `config:` (and a filter named without any config), cluster `hosts`, route `use_websocket`,
 * match `regex`, header `regex_match`, query parameter `value`/`regex`, HCM `idle_timeout`, v2 type URLs.
 * Deprecated in v3 (warnings in a v3 file, as Envoy 1.40 warns): the cluster-level protocol options
 * and `max_requests_per_connection`, admin `access_log_path`. `host_rewrite` is still v3's JSON
 * name of `host_rewrite_literal`.
 */
import type { HeaderMatch, PathMatch, QueryParameterMatcher } from "./model.js";
import {
  type ProtocolOptions,
  readCommonOptions,
  readHttp1Options,
  readHttp2Options,
} from "./protocol_options.js";
import { Obj } from "./reader.js";
import { compileRegex } from "./regex.js";
import { HTTP_PROTOCOL_OPTIONS } from "./v3.js";

/** A filter's v2 `config:` Struct (null for `config:` with no value = empty). */
export function configBody(entry: Obj): Obj | null {
  entry.ctx.sawV2(entry.at("config"), 'use typed_config with an "@type"');
  return Obj.of(entry.ctx, entry.at("config"), entry.get("config"));
}

/** `hosts: [{socket_address: ...}]`, or null when absent. */
export function clusterHosts(c: Obj): Obj[] | null {
  if (!c.has("hosts")) return null;
  c.ctx.sawV2(c.at("hosts"), "use load_assignment");
  return c.objList("hosts");
}

/** Cluster-level `http2_protocol_options`, `http_protocol_options`, `common_http_protocol_options`, `max_requests_per_connection`. */
export function clusterProtocolFields(c: Obj): ProtocolOptions {
  const out: ProtocolOptions = {};
  for (const key of [
    "http2_protocol_options",
    "http_protocol_options",
    "common_http_protocol_options",
    "max_requests_per_connection",
  ]) {
    if (c.has(key))
      c.ctx.deprecatedInV3(c.at(key), `typed_extension_protocol_options (${HTTP_PROTOCOL_OPTIONS})`);
  }
  const which = c.oneOf(["http2_protocol_options", "http_protocol_options"]);
  if (which === "http2_protocol_options") {
    const h2 = c.obj(which);
    if (h2 !== null) readHttp2Options(h2, out);
  } else if (which === "http_protocol_options") {
    const h1 = c.obj(which);
    if (h1 !== null) readHttp1Options(h1, out);
  }
  const common = c.obj("common_http_protocol_options");
  if (common !== null) readCommonOptions(common, out);
  if (c.has("max_requests_per_connection"))
    out.maxRequestsPerConnection = c.int("max_requests_per_connection", 0);
  return out;
}

/** Route `use_websocket: true` (Envoy <= 1.8) = the route allows the websocket upgrade. */
export function useWebsocket(action: Obj): boolean {
  action.unsupported("websocket_config");
  if (!action.has("use_websocket")) return false;
  action.ctx.sawV2(action.at("use_websocket"), "use upgrade_configs: [{upgrade_type: websocket}]");
  return action.bool("use_websocket", false);
}

/** Match `regex` (ECMAScript in 2018): the whole path without the query must match. */
export function pathRegex(match: Obj): PathMatch | null {
  const source = match.str("regex");
  if (source === undefined) return null;
  match.ctx.sawV2(match.at("regex"), "use safe_regex: {regex}");
  const compiled = compileRegex(source, "full");
  if (!compiled.ok) {
    match.error("regex", compiled.problem);
    return null;
  }
  return { kind: "regex", regex: compiled.value, source };
}

/** Route `host_rewrite` (v3 calls it host_rewrite_literal and still accepts this name). */
export function hostRewrite(action: Obj): string | undefined {
  return action.str("host_rewrite");
}

/** Header matcher `regex_match` (v3: safe_regex_match or string_match.safe_regex). */
export function headerRegexMatch(h: Obj): HeaderMatch | null {
  const source = h.str("regex_match");
  if (source === undefined) return null;
  h.ctx.sawV2(h.at("regex_match"), "use string_match: {safe_regex: {regex}}");
  const compiled = compileRegex(source, "full");
  if (!compiled.ok) {
    h.error("regex_match", compiled.problem);
    return null;
  }
  return { kind: "regex", regex: compiled.value, source };
}

/** Query parameter `value` (+ `regex: true`); v3 uses string_match. */
export function queryValueMatch(q: Obj): QueryParameterMatcher["match"] | null {
  for (const key of ["value", "regex"]) {
    if (q.has(key)) q.ctx.sawV2(q.at(key), "use string_match");
  }
  const value = q.str("value");
  const isRegex = q.bool("regex", false);
  if (value === undefined) return null;
  if (!isRegex) return { kind: "exact", value, ignoreCase: false };
  const compiled = compileRegex(value, "full");
  if (!compiled.ok) {
    q.error("value", compiled.problem);
    return null;
  }
  return { kind: "regex", regex: compiled.value, source: value };
}

/** HCM-level `idle_timeout` (later common_http_protocol_options.idle_timeout). */
export function hcmIdleTimeout(hcm: Obj): number | undefined {
  if (!hcm.has("idle_timeout")) return undefined;
  hcm.ctx.sawV2(hcm.at("idle_timeout"), "use common_http_protocol_options.idle_timeout");
  return hcm.duration("idle_timeout", 0);
}

/** `admin.access_log_path` (deprecated in v3 in favour of admin.access_log). */
export function adminAccessLogPath(admin: Obj): string | undefined {
  if (admin.has("access_log_path")) admin.ctx.deprecatedInV3(admin.at("access_log_path"), "access_log");
  return admin.str("access_log_path");
}
