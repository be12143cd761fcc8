/**
 * Virtual host and route selection, exactly as Envoy's config_impl.cc:
 * - the authority is lower-cased; its port is part of it (`example.com` does not match
 *   `example.com:8080`) unless the route config sets `ignore_port_in_host_matching`;
 * - domains: exact, then the longest suffix wildcard (`*.foo.com`, `*-bar.foo.com`), then the longest
 *   prefix wildcard (`foo.*`), then `*`; a wildcard never matches an empty string;
 * - routes in order, first match wins: `prefix` (on the whole `:path`, query included, not segment
 *   aware), `path` (exact, query and fragment stripped), regex (whole path without the query),
 *   `case_sensitive` (not for regex), then every header matcher (AND) and query parameter matcher
 *   (first value of a repeated key, not percent-decoded).
 * Everything is compiled at construction; `select` allocates nothing on the common paths (a regex
 * on a path with a query, case-insensitive string matchers and query-parameter matchers allocate).
 */
import type {
  ForwardAction,
  PathMatch,
  QueryParameterMatcher,
  RouteConfig,
  RouteConfiguration,
  RouteMatch,
  VirtualHostConfig,
} from "../config/model.js";
import { hasUpperAscii, matchHeader, matchString, startsWithLower } from "./string_match.js";

/**
 * Request header lookup by lower-case name, pseudo-headers (`:method`, `:scheme`...) included.
 * Repeated headers are returned joined with "," as Envoy matches them.
 */
export type HeaderLookup = (lowerName: string) => string | undefined;

export interface RouteSelection {
  vhost: VirtualHostConfig;
  route: RouteConfig;
}

interface CompiledRoute {
  readonly selection: RouteSelection;
  readonly path: PathMatch;
  /** Lower-cased path value for case-insensitive prefix/path matches; null when case-sensitive. */
  readonly lower: string | null;
  readonly match: RouteMatch;
}

interface CompiledVhost {
  readonly vhost: VirtualHostConfig;
  readonly routes: readonly CompiledRoute[];
}

interface Wildcard {
  /** The domain without its `*`. */
  readonly text: string;
  readonly entry: CompiledVhost;
}

export class RouteTable {
  private readonly exact = new Map<string, CompiledVhost>();
  /** `*.foo.com` -> `.foo.com`, longest first. */
  private readonly suffixes: Wildcard[] = [];
  /** `foo.*` -> `foo.`, longest first. */
  private readonly prefixes: Wildcard[] = [];
  private readonly any: CompiledVhost | null = null;
  private readonly ignorePort: boolean;

  constructor(config: RouteConfiguration) {
    this.ignorePort = config.ignorePortInHostMatching === true;
    for (const vhost of config.virtualHosts) {
      const entry: CompiledVhost = { vhost, routes: vhost.routes.map((route) => compileRoute(vhost, route)) };
      for (const raw of vhost.domains) {
        const domain = raw.toLowerCase();
        if (domain === "*") this.any ??= entry;
        else if (domain.startsWith("*")) this.suffixes.push({ text: domain.slice(1), entry });
        else if (domain.endsWith("*")) this.prefixes.push({ text: domain.slice(0, -1), entry });
        else if (!this.exact.has(domain)) this.exact.set(domain, entry);
      }
    }
    // Stable sort: among equal lengths the first configured wins (the loader rejects duplicates).
    this.suffixes.sort((a, b) => b.text.length - a.text.length);
    this.prefixes.sort((a, b) => b.text.length - a.text.length);
  }

  /** The virtual host for an authority (`Host` / `:authority`), or null (Envoy: 404 NR). */
  findVirtualHost(authority: string): VirtualHostConfig | null {
    return this.findEntry(authority)?.vhost ?? null;
  }

  /** The first matching route of the authority's virtual host, or null (Envoy: 404 NR). */
  select(authority: string, path: string, headers: HeaderLookup): RouteSelection | null {
    const entry = this.findEntry(authority);
    if (entry === null) return null;
    let pathEnd = -1;
    let query: Map<string, string> | null = null;
    for (const r of entry.routes) {
      const p = r.path;
      if (p.kind === "prefix") {
        if (r.lower === null ? !path.startsWith(p.value) : !startsWithLower(path, r.lower)) continue;
      } else {
        if (pathEnd < 0) pathEnd = pathLength(path);
        if (p.kind === "path") {
          if (pathEnd !== p.value.length) continue;
          if (r.lower === null ? !path.startsWith(p.value) : !startsWithLower(path, r.lower, pathEnd))
            continue;
        } else if (!p.regex.test(pathEnd === path.length ? path : path.slice(0, pathEnd))) {
          continue;
        }
      }
      const m = r.match;
      if (m.headers.length > 0 && !headersMatch(m, headers)) continue;
      if (m.queryParameters.length > 0) {
        if (query === null) {
          if (pathEnd < 0) pathEnd = pathLength(path);
          query = parseQuery(path, pathEnd);
        }
        if (!queryMatches(m.queryParameters, query)) continue;
      }
      return r.selection;
    }
    return null;
  }

  private findEntry(authority: string): CompiledVhost | null {
    let host = hasUpperAscii(authority) ? authority.toLowerCase() : authority;
    if (this.ignorePort) host = stripPort(host);
    const exact = this.exact.get(host);
    if (exact !== undefined) return exact;
    for (const w of this.suffixes) {
      if (host.length > w.text.length && host.endsWith(w.text)) return w.entry;
    }
    for (const w of this.prefixes) {
      if (host.length > w.text.length && host.startsWith(w.text)) return w.entry;
    }
    return this.any;
  }
}

function compileRoute(vhost: VirtualHostConfig, route: RouteConfig): CompiledRoute {
  const path = route.match.path;
  const lower = path.kind !== "regex" && !route.match.caseSensitive ? path.value.toLowerCase() : null;
  return { selection: { vhost, route }, path, lower, match: route.match };
}

/** Length of the path before `?` or `#`. */
function pathLength(path: string): number {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 63 /* ? */ || c === 35 /* # */) return i;
  }
  return path.length;
}

/** `host:port` -> `host`, `[v6]:port` -> `[v6]`; a bare IPv6 literal is left alone. */
function stripPort(host: string): string {
  const colon = host.lastIndexOf(":");
  if (colon < 0) return host;
  if (host.startsWith("[")) return host.charCodeAt(colon - 1) === 93 /* ] */ ? host.slice(0, colon) : host;
  return host.indexOf(":") === colon ? host.slice(0, colon) : host;
}

function headersMatch(m: RouteMatch, headers: HeaderLookup): boolean {
  for (const h of m.headers) {
    if (!matchHeader(h, headers(h.name))) return false;
  }
  return true;
}

/** Query parameters by name, first value wins; `?flag` has the value "". Not percent-decoded. */
function parseQuery(path: string, pathEnd: number): Map<string, string> {
  const out = new Map<string, string>();
  if (pathEnd >= path.length || path.charCodeAt(pathEnd) !== 63) return out;
  let end = path.indexOf("#", pathEnd + 1);
  if (end < 0) end = path.length;
  for (const pair of path.slice(pathEnd + 1, end).split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (!out.has(key)) out.set(key, eq < 0 ? "" : pair.slice(eq + 1));
  }
  return out;
}

function queryMatches(matchers: readonly QueryParameterMatcher[], query: Map<string, string>): boolean {
  for (const q of matchers) {
    const value = query.get(q.name);
    if (q.match.kind === "present") {
      if ((value !== undefined) !== q.match.present) return false;
    } else if (value === undefined || !matchString(q.match, value)) {
      return false;
    }
  }
  return true;
}

/**
 * The upstream `:path` after the route's rewrite, as Envoy computes it; returns `path` itself when
 * there is none. `regex_rewrite` applies to the path without the query (the query is kept);
 * `prefix_rewrite` replaces the matched prefix (`prefix` routes), the whole path before the query
 * (`path` and regex routes).
 */
export function rewritePath(action: ForwardAction, match: RouteMatch, path: string): string {
  if (action.regexRewrite !== null) {
    const end = pathLength(path);
    const { regex, substitution } = action.regexRewrite;
    return path.slice(0, end).replace(regex, substitution) + path.slice(end);
  }
  if (action.prefixRewrite === null) return path;
  const m = match.path;
  const matched = m.kind === "prefix" ? m.value.length : pathLength(path);
  return action.prefixRewrite + path.slice(matched);
}

/**
 * Pick a cluster of a forward action as Envoy does: `random % totalWeight`, walking the entries.
 * `random` is a non-negative integer (e.g. from a per-worker PRNG).
 */
export function pickCluster(action: ForwardAction, random: number): string {
  const clusters = action.clusters;
  if (clusters.length === 1) return (clusters[0] as { name: string }).name;
  let point = random % action.totalWeight;
  for (const c of clusters) {
    if (point < c.weight) return c.name;
    point -= c.weight;
  }
  return (clusters[clusters.length - 1] as { name: string }).name;
}
