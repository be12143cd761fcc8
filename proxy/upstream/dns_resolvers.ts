/**
 * A cluster's own DNS servers (`dns_resolvers`, `dns_resolution_config`, `typed_dns_resolver_config`):
 * names are asked of those servers directly (A/AAAA queries through Node's c-ares `dns.Resolver`, as
 * Envoy's c-ares resolver does), never of the system's resolver, /etc/hosts or `--dns-map`.
 */
import { promises as dns } from "node:dns";
import { isIP } from "node:net";
import type { SocketAddress } from "../config/model.js";
import type { Resolver } from "./resolver.js";

/** "The name has no address of this family": an empty answer, not a failure (as in ./resolver.ts). */
const EMPTY_ANSWER = new Set(["ENOTFOUND", "ENODATA"]);

/** A resolver that queries `servers` (IP and port each, in order, c-ares's failover). */
export function serversResolver(servers: readonly SocketAddress[]): Resolver {
  const resolver = new dns.Resolver();
  resolver.setServers(
    servers.map((s) => (isIP(s.address) === 6 ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`)),
  );
  const query = async (hostname: string, family: 4 | 6): Promise<string[]> => {
    try {
      return family === 4 ? await resolver.resolve4(hostname) : await resolver.resolve6(hostname);
    } catch (err) {
      if (EMPTY_ANSWER.has((err as NodeJS.ErrnoException).code ?? "")) return [];
      throw err;
    }
  };
  const preferring = async (hostname: string, first: 4 | 6, second: 4 | 6) => {
    const found = await query(hostname, first);
    return found.length > 0 ? found : query(hostname, second);
  };
  return async (hostname, family) => {
    if (isIP(hostname) !== 0) return [hostname];
    switch (family) {
      case "v4_only":
        return query(hostname, 4);
      case "v6_only":
        return query(hostname, 6);
      case "auto":
        return preferring(hostname, 6, 4);
      case "v4_preferred":
        return preferring(hostname, 4, 6);
      case "all": {
        const [v4, v6] = await Promise.all([query(hostname, 4), query(hostname, 6)]);
        return [...v4, ...v6];
      }
    }
  };
}
