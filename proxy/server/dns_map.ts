/**
 * `--dns-map service1=127.0.0.2` / ECHOMESH_DNS_MAP: a resolver that answers mapped names itself
 * (case-insensitively) and asks the fallback for every other name. This is how the seed's configs,
 * which name `service1`/`service2`, run on one machine without Docker's DNS. A cluster with DNS
 * servers of its own (`dns_resolvers` and the like) asks those instead (../upstream/dns_resolvers.ts).
 */
import type { Resolver } from "../upstream/resolver.js";

export function mappedResolver(map: ReadonlyMap<string, readonly string[]>, fallback: Resolver): Resolver {
  if (map.size === 0) return fallback;
  return async (hostname, family) => {
    const mapped = map.get(hostname.toLowerCase());
    if (mapped === undefined) return fallback(hostname, family);
    const v6 = (ip: string) => ip.includes(":");
    if (family === "v4_only") return mapped.filter((ip) => !v6(ip));
    if (family === "v6_only") return mapped.filter(v6);
    return [...mapped];
  };
}
