import type { HeaderMatch, HeaderMatcher, PathMatch, QueryParameterMatcher, RouteMatch } from "./model.js";
import type { Obj } from "./reader.js";
import { headerRegexMatch, pathRegex, queryValueMatch } from "./v2.js";
import { pathSafeRegex, regexMatcher, stringMatcher } from "./v3.js";

const PATH_KINDS = [
  "prefix",
  "path",
  "safe_regex",
  "regex",
  "path_separated_prefix",
  "connect_matcher",
  "path_match_policy",
];

/** A route's `match`. */
export function parseRouteMatch(m: Obj): RouteMatch | null {
  const kind = m.oneOf(PATH_KINDS, true);
  m.unsupported("path_separated_prefix", "connect_matcher", "path_match_policy");
  m.unsupported("runtime_fraction", "grpc", "tls_context", "dynamic_metadata", "filter_state");
  let path: PathMatch | null = null;
  if (kind === "prefix" || kind === "path") {
    const value = m.str(kind);
    if (value !== undefined) path = { kind, value };
  } else if (kind === "safe_regex") {
    path = pathSafeRegex(m);
  } else if (kind === "regex") {
    path = pathRegex(m);
  }
  const caseSensitive = m.bool("case_sensitive", true);
  const headers = m.objList("headers").map(parseHeaderMatcher);
  const queryParameters = m.objList("query_parameters").map(parseQueryParameterMatcher);
  m.done();
  if (path === null || headers.includes(null) || queryParameters.includes(null)) return null;
  return {
    path,
    caseSensitive,
    headers: headers as HeaderMatcher[],
    queryParameters: queryParameters as QueryParameterMatcher[],
  };
}

const HEADER_KINDS = [
  "exact_match",
  "safe_regex_match",
  "regex_match",
  "range_match",
  "present_match",
  "prefix_match",
  "suffix_match",
  "contains_match",
  "string_match",
];

/** One `headers[]` matcher (also a retry policy's `retriable_headers`); no match field at all means "present". */
export function parseHeaderMatcher(h: Obj): HeaderMatcher | null {
  const name = h.name("name")?.toLowerCase();
  const kind = h.oneOf(HEADER_KINDS);
  const invert = h.bool("invert_match", false);
  h.unsupported("treat_missing_header_as_empty");
  let match: HeaderMatch | null = null;
  switch (kind) {
    case null:
      match = { kind: "present", present: true };
      break;
    case "exact_match": {
      const value = h.str(kind);
      // Envoy's old exact_match: an empty value matches any value of a present header.
      if (value !== undefined)
        match =
          value === "" ? { kind: "present", present: true } : { kind: "exact", value, ignoreCase: false };
      break;
    }
    case "prefix_match":
    case "suffix_match":
    case "contains_match": {
      const value = h.str(kind);
      if (value === "") h.error(kind, "must not be empty");
      else if (value !== undefined)
        match = { kind: kind.slice(0, -"_match".length) as "prefix", value, ignoreCase: false };
      break;
    }
    case "present_match":
      match = { kind: "present", present: h.bool(kind, true) };
      break;
    case "range_match":
      match = parseRange(h);
      break;
    case "safe_regex_match": {
      const r = regexMatcher(h, kind, "full");
      if (r !== null) match = { kind: "regex", ...r };
      break;
    }
    case "regex_match":
      match = headerRegexMatch(h);
      break;
    case "string_match":
      match = stringMatcher(h, kind);
      break;
  }
  h.done();
  return name === undefined || match === null ? null : { name, match, invert };
}

/** `range_match: {start, end}`: start inclusive, end exclusive (int64). */
function parseRange(h: Obj): HeaderMatch | null {
  const r = h.obj("range_match");
  if (r === null) return null;
  const start = r.require("start")
    ? r.int("start", 0, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
    : null;
  const end = r.require("end") ? r.int("end", 0, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) : null;
  r.done();
  if (start === null || end === null) return null;
  if (start >= end) {
    r.error("end", `must be greater than start (${start})`);
    return null;
  }
  return { kind: "range", start, end };
}

/** One `query_parameters[]` matcher; no match field at all means "present". */
function parseQueryParameterMatcher(q: Obj): QueryParameterMatcher | null {
  const name = q.name("name");
  const kind = q.oneOf(["string_match", "present_match", "value"]);
  let match: QueryParameterMatcher["match"] | null = null;
  if (kind === "string_match") match = stringMatcher(q, kind);
  else if (kind === "present_match") match = { kind: "present", present: q.bool(kind, true) };
  else if (kind === "value") match = queryValueMatch(q);
  else {
    q.bool("regex", false);
    match = { kind: "present", present: true };
  }
  q.done();
  return name === undefined || match === null ? null : { name, match };
}
