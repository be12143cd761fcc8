/** Pure transformations of a spec that drivers apply before rendering (addresses, names). */
import type { Address, ClusterSpec, HostSpec, ProxySpec, RouteSpec } from "./model.js";

/** A copy of `spec` with every address (listeners, admin, cluster hosts) passed through `map`. */
export function mapAddresses(spec: ProxySpec, map: (a: Address) => Address): ProxySpec {
  return {
    ...spec,
    listener: { ...spec.listener, address: map(spec.listener.address) },
    ...(spec.extraListeners === undefined
      ? {}
      : { extraListeners: spec.extraListeners.map((l) => ({ ...l, address: map(l.address) })) }),
    admin: spec.admin === null ? null : { ...spec.admin, ...map(spec.admin) },
    clusters: spec.clusters.map((c) => ({
      ...c,
      hosts: c.hosts.map((h) => ({ ...h, ...map(h) })),
    })),
  };
}

/**
 * A copy of `spec` whose host names are replaced by the addresses they stand for, one host per
 * address (for a proxy that cannot ask a DNS server of ours; names fixed at start). Names not in
 * `names` and IP literals are kept.
 */
export function inlineHosts(spec: ProxySpec, names: ReadonlyMap<string, readonly string[]>): ProxySpec {
  return {
    ...spec,
    clusters: spec.clusters.map((c) => ({
      ...c,
      hosts: c.hosts.flatMap((h): HostSpec[] => {
        const ips = names.get(h.host);
        return ips === undefined ? [h] : ips.map((ip) => ({ ...h, host: ip }));
      }),
    })),
  };
}

/**
 * The routes that can match, in order: a route whose prefix starts with an earlier route's prefix is
 * never reached (first match wins, as in Envoy), so dialects that match the longest prefix (nginx
 * locations, Caddy `handle` blocks) give the same answers when rendered only these.
 */
export function reachableRoutes(spec: ProxySpec): RouteSpec[] {
  const out: RouteSpec[] = [];
  for (const r of spec.routes) if (!out.some((earlier) => r.prefix.startsWith(earlier.prefix))) out.push(r);
  return out;
}

/** Whether every path matches some route (a `/` prefix); if not, the rest is answered 404 (Envoy's "no route"). */
export function routesEverything(spec: ProxySpec): boolean {
  return spec.routes.some((r) => r.prefix === "/");
}

/** The clusters a route sends to, with their weights (one cluster: weight 1). */
export function routeTargets(r: RouteSpec): { cluster: string; weight: number }[] {
  return typeof r.to === "string" ? [{ cluster: r.to, weight: 1 }] : r.to;
}

/** The cluster named `name`, or an error naming the route that refers to it. */
export function clusterNamed(spec: ProxySpec, name: string): ClusterSpec {
  const c = spec.clusters.find((x) => x.name === name);
  if (c === undefined) throw new Error(`topology spec: a route names cluster ${name}, which is not defined`);
  return c;
}

/** Whether a host is a DNS name (not an IPv4 literal). */
export const isName = (host: string): boolean => !/^\d+\.\d+\.\d+\.\d+$/.test(host);

/**
 * The TLS parts of a spec, in words (TLS listeners, listeners beyond the first, TLS clusters), for a
 * renderer that has none of them (nginx and Caddy here): it refuses the spec rather than render a
 * plain-text proxy in its place. Undefined when there are none.
 */
export function tlsParts(spec: ProxySpec): string | undefined {
  const parts = [
    ...(spec.listener.tls === undefined ? [] : ["a TLS listener"]),
    ...((spec.extraListeners ?? []).length > 0 ? ["a second listener"] : []),
    ...spec.clusters.filter((c) => c.tls !== undefined).map((c) => `TLS to cluster ${c.name}`),
  ];
  return parts.length === 0 ? undefined : parts.join(", ");
}
