/**
 * The v3 spellings: `typed_config` with `@type`, `load_assignment`, `typed_extension_protocol_options`,
 * `upgrade_configs`, `RegexMatcher` (`safe_regex`), `StringMatcher` (`string_match`),
 * `host_rewrite_literal`. Each reader returns the model piece, or null/undefined when absent.
 */
import type { PathMatch, StringMatch } from "./model.js";
import { show } from "./path.js";
import {
  type ProtocolOptions,
  readCommonOptions,
  readHttp1Options,
  readHttp2Options,
} from "./protocol_options.js";
import { Obj } from "./reader.js";
import { compileRegex, MAX_PROGRAM_SIZE, type Regex, type RegexMode } from "./regex.js";

export const HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
const HTTP_PROTOCOL_OPTIONS_URL = `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`;

/** `type.googleapis.com/envoy.<...>.v3.<Message>`: naming one makes the file v3. */
const V3_TYPE_URL = /^type\.googleapis\.com\/envoy\.[a-z0-9_.]+\.v3\.[A-Za-z0-9]+$/;

/** An `@type` at `o`, or undefined after reporting it missing; a v3 URL marks the file v3. */
export function typeUrlOf(o: Obj): string | undefined {
  if (!o.require("@type")) return undefined;
  const typeUrl = o.str("@type");
  if (typeUrl !== undefined && V3_TYPE_URL.test(typeUrl)) o.ctx.sawV3();
  return typeUrl;
}

/** A `typed_config` and its `@type`, or null after reporting a problem. */
export function typedConfigBody(entry: Obj): { typeUrl: string; body: Obj } | null {
  const body = entry.obj("typed_config");
  if (body === null) return null;
  const typeUrl = typeUrlOf(body);
  return typeUrl === undefined ? null : { typeUrl, body };
}

/** One `lb_endpoints[]` entry before address parsing. */
export interface EndpointInput {
  address: Obj | null;
  weight: number;
  hostname: string | null;
}

/** `load_assignment.endpoints[].lb_endpoints[]`, or null when there is no load_assignment. */
export function loadAssignment(c: Obj): EndpointInput[] | null {
  const la = c.obj("load_assignment");
  if (la === null) return null;
  la.str("cluster_name");
  la.unsupported("policy", "named_endpoints");
  const out: EndpointInput[] = [];
  for (const locality of la.objList("endpoints")) {
    locality.ignore("locality", "load_balancing_weight", "metadata");
    if (locality.int("priority", 0) !== 0) locality.error("priority", "unsupported value (only priority 0)");
    locality.unsupported("leds_cluster_locality_config", "proximity");
    for (const lb of locality.objList("lb_endpoints")) {
      const weight = lb.int("load_balancing_weight", 1, 1);
      lb.ignore("metadata");
      lb.unsupported("health_status", "endpoint_name");
      const endpoint = lb.obj("endpoint");
      if (endpoint === null) {
        lb.error("endpoint", "required field is missing");
        lb.done();
        continue;
      }
      const hostname = endpoint.str("hostname") ?? null;
      endpoint.unsupported("health_check_config", "additional_addresses");
      const address = endpoint.obj("address");
      if (address === null) endpoint.error("address", "required field is missing");
      endpoint.done();
      lb.done();
      out.push({ address, weight, hostname });
    }
    locality.done();
  }
  la.done();
  return out;
}

/** `typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]`. */
export function typedProtocolOptions(c: Obj): ProtocolOptions {
  const out: ProtocolOptions = {};
  const all = c.obj("typed_extension_protocol_options");
  if (all === null) return out;
  const o = all.obj(HTTP_PROTOCOL_OPTIONS);
  all.done();
  if (o === null) return out;
  const url = typeUrlOf(o);
  if (url !== undefined && url !== HTTP_PROTOCOL_OPTIONS_URL) {
    o.error("@type", `unsupported type ${show(url)} (expected ${HTTP_PROTOCOL_OPTIONS_URL})`);
  }
  const mode = o.oneOf(["explicit_http_config", "use_downstream_protocol_config", "auto_config"]);
  o.unsupported(
    "use_downstream_protocol_config",
    "auto_config",
    "upstream_http_protocol_options",
    "http_filters",
    "header_validation_config",
  );
  const explicit = mode === "explicit_http_config" ? o.obj(mode) : null;
  if (explicit !== null) {
    const which = explicit.oneOf(
      ["http_protocol_options", "http2_protocol_options", "http3_protocol_options"],
      true,
    );
    explicit.unsupported("http3_protocol_options");
    const inner =
      which === "http_protocol_options" || which === "http2_protocol_options" ? explicit.obj(which) : null;
    if (which === "http2_protocol_options") readHttp2Options(inner ?? emptyLike(explicit, which), out);
    if (which === "http_protocol_options") readHttp1Options(inner ?? emptyLike(explicit, which), out);
    explicit.done();
  }
  const common = o.obj("common_http_protocol_options");
  if (common !== null) readCommonOptions(common, out);
  o.done();
  return out;
}

function emptyLike(parent: Obj, key: string): Obj {
  return new Obj(parent.ctx, parent.at(key), {});
}

/** `upgrade_configs: [{upgrade_type, enabled}]` (HCM or route): lower-cased type -> enabled. */
export function upgradeConfigs(o: Obj): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const u of o.objList("upgrade_configs")) {
    const type = u.name("upgrade_type");
    const enabled = u.bool("enabled", true);
    u.unsupported("filters", "connect_config");
    u.done();
    if (type === undefined) continue;
    const key = type.toLowerCase();
    if (out.has(key)) u.error("upgrade_type", `duplicate upgrade type ${show(type)}`);
    out.set(key, enabled);
  }
  return out;
}

/**
 * A `RegexMatcher` (`{google_re2: {}, regex}`) at `key`, compiled for `mode`. `google_re2` selects
 * the only engine; its deprecated `max_program_size` replaces the default limit, as in Envoy.
 */
export function regexMatcher(
  parent: Obj,
  key: string,
  mode: RegexMode,
): { regex: Regex; source: string } | null {
  const o = parent.obj(key);
  if (o === null) return null;
  const re2 = o.obj("google_re2");
  const maxProgramSize = re2?.int("max_program_size", MAX_PROGRAM_SIZE) ?? MAX_PROGRAM_SIZE;
  re2?.done();
  const source = o.require("regex") ? o.str("regex") : undefined;
  o.done();
  if (source === undefined) return null;
  const compiled = compileRegex(source, mode, maxProgramSize);
  if (!compiled.ok) {
    o.error("regex", compiled.problem);
    return null;
  }
  return { regex: compiled.value, source };
}

/** Match `safe_regex`: the whole path without the query must match. */
export function pathSafeRegex(match: Obj): PathMatch | null {
  const r = regexMatcher(match, "safe_regex", "full");
  return r === null ? null : { kind: "regex", ...r };
}

/** A `StringMatcher` at `key` (`exact`, `prefix`, `suffix`, `contains`, `safe_regex`, `ignore_case`). */
export function stringMatcher(parent: Obj, key: string): StringMatch | null {
  const o = parent.obj(key);
  return o === null ? null : stringMatcherOf(o);
}

/** A `StringMatcher` mapping (a list item, or the value of a field). */
export function stringMatcherOf(o: Obj): StringMatch | null {
  const kind = o.oneOf(["exact", "prefix", "suffix", "contains", "safe_regex", "custom"], true);
  const ignoreCase = o.bool("ignore_case", false);
  o.unsupported("custom");
  let out: StringMatch | null = null;
  if (kind === "safe_regex") {
    const r = regexMatcher(o, kind, "full");
    if (r !== null) out = { kind: "regex", ...r };
    if (ignoreCase) o.error("ignore_case", "has no effect on safe_regex (use (?i) in the regex)");
  } else if (kind === "exact" || kind === "prefix" || kind === "suffix" || kind === "contains") {
    const value = o.str(kind);
    if (value !== undefined) {
      if (value === "" && kind !== "exact") o.error(kind, "must not be empty");
      out = { kind, value: ignoreCase ? value.toLowerCase() : value, ignoreCase };
    }
  }
  o.done();
  return out;
}

/** Route `host_rewrite_literal`. */
export function hostRewriteLiteral(action: Obj): string | undefined {
  return action.str("host_rewrite_literal");
}
