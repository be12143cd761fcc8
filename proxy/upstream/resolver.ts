import { promises as dns } from "node:dns";
import { isIP } from "node:net";
import type { DnsLookupFamily } from "../config/model.js";

/**
 * Resolves a DNS name to IP literals. Resolves to `[]` when the name has no address of the family
 * (NXDOMAIN / no data: a successful, empty answer, as Envoy's c-ares resolver treats it); rejects on
 * a failure (timeout, server failure), after which a cluster keeps its previous hosts.
 */
export type Resolver = (hostname: string, family: DnsLookupFamily) => Promise<string[]>;

/** Error codes that mean "the answer is: no addresses", not "resolution failed". */
const EMPTY_ANSWER = new Set(["ENOTFOUND", "ENODATA", "EAI_NODATA", "EAI_ADDRFAMILY"]);

/**
 * The default resolver: the system resolver (`dns.promises.lookup`, so /etc/hosts applies, like the
 * getaddrinfo-based resolvers in Docker). IP literals are returned as they are, without a lookup.
 *
 * `dns_lookup_family` as Envoy: `v4_only`, `v6_only`; `auto` = IPv6 first, IPv4 only when there is no
 * IPv6 address; `v4_preferred` = the reverse; `all` = both families in the system's order.
 */
export const systemResolver: Resolver = async (hostname, family) => {
  if (isIP(hostname) !== 0) return [hostname];
  switch (family) {
    case "v4_only":
      return lookup(hostname, 4);
    case "v6_only":
      return lookup(hostname, 6);
    case "all":
      return lookup(hostname, 0);
    case "auto":
      return preferring(hostname, 6, 4);
    case "v4_preferred":
      return preferring(hostname, 4, 6);
  }
};

async function preferring(hostname: string, first: 4 | 6, second: 4 | 6): Promise<string[]> {
  let firstError: unknown = null;
  try {
    const found = await lookup(hostname, first);
    if (found.length > 0) return found;
  } catch (err) {
    firstError = err;
  }
  try {
    return await lookup(hostname, second);
  } catch (err) {
    throw firstError ?? err;
  }
}

async function lookup(hostname: string, family: 0 | 4 | 6): Promise<string[]> {
  try {
    const all = await dns.lookup(hostname, { all: true, family });
    return all.map((a) => a.address);
  } catch (err) {
    if (EMPTY_ANSWER.has((err as NodeJS.ErrnoException).code ?? "")) return [];
    throw err;
  }
}
