/**
 * The v2 (2018) spellings that v3 removed or deprecated: filter `config:`, cluster `hosts` and
 * cluster-level protocol options, route `use_websocket`, `regex`, `host_rewrite`, header
 * `regex_match`, query parameter `value`/`regex`, HCM `idle_timeout`, admin `access_log_path`.
 * Each reader returns the model piece, or undefined/null when the field is absent.
 * `config`, `hosts`, `use_websocket`, `regex`, `host_rewrite` and `regex_match` mark the file as v2.
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

/** A filter's v2 `config:` Struct (null for `config:` with no value = empty). */
export function configBody(entry: Obj): Obj | null {
  entry.ctx.sawV2(entry.at("config"));
  return Obj.of(entry.ctx, entry.at("config"), entry.get("config"));
}

/** `hosts: [{socket_address: ...}]`, or null when absent. */
export function clusterHosts(c: Obj): Obj[] | null {
  if (!c.has("hosts")) return null;
  c.ctx.sawV2(c.at("hosts"));
  return c.objList("hosts");
}

/** Cluster-level `http2_protocol_options`, `http_protocol_options`, `common_http_protocol_options`, `max_requests_per_connection`. */
export function clusterProtocolFields(c: Obj): ProtocolOptions {
  const out: ProtocolOptions = {};
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
  action.ctx.sawV2(action.at("use_websocket"));
  return action.bool("use_websocket", false);
}

/** Match `regex` (ECMAScript in 2018): the whole path without the query must match. */
export function pathRegex(match: Obj): PathMatch | null {
  const source = match.str("regex");
  if (source === undefined) return null;
  match.ctx.sawV2(match.at("regex"));
  const compiled = compileRegex(source, "full");
  if (!compiled.ok) {
    match.error("regex", compiled.problem);
    return null;
  }
  return { kind: "regex", regex: compiled.value, source };
}

/** Route `host_rewrite` (v3: host_rewrite_literal). */
export function hostRewrite(action: Obj): string | undefined {
  if (action.has("host_rewrite")) action.ctx.sawV2(action.at("host_rewrite"));
  return action.str("host_rewrite");
}

/** Header matcher `regex_match` (v3: safe_regex_match or string_match.safe_regex). */
export function headerRegexMatch(h: Obj): HeaderMatch | null {
  const source = h.str("regex_match");
  if (source === undefined) return null;
  h.ctx.sawV2(h.at("regex_match"));
  const compiled = compileRegex(source, "full");
  if (!compiled.ok) {
    h.error("regex_match", compiled.problem);
    return null;
  }
  return { kind: "regex", regex: compiled.value, source };
}

/** Query parameter `value` (+ `regex: true`); v3 uses string_match. */
export function queryValueMatch(q: Obj): QueryParameterMatcher["match"] | null {
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
  return hcm.has("idle_timeout") ? hcm.duration("idle_timeout", 0) : undefined;
}

/** `admin.access_log_path` (deprecated in v3 in favour of admin.access_log). */
export function adminAccessLogPath(admin: Obj): string | undefined {
  return admin.str("access_log_path");
}
