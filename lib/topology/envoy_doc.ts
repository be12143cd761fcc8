/**
 * Small, typed edits on a parsed Envoy v2 document (the seed's dialect), for the Envoy-only parts of
 * topologies (`ProxyNode.envoy`) and for drivers that rewrite a rendered document.
 */
import type { EnvoyDoc } from "./model.js";

type Obj = Record<string, unknown>;

export function clone<T>(value: T): T {
  return structuredClone(value);
}

function obj(value: unknown, what: string): Obj {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`envoy doc: ${what} is not an object`);
  }
  return value as Obj;
}

function arr(value: unknown, what: string): Obj[] {
  if (!Array.isArray(value)) throw new Error(`envoy doc: ${what} is not a list`);
  return value as Obj[];
}

function listeners(doc: EnvoyDoc): Obj[] {
  return arr(obj(doc.static_resources, "static_resources").listeners, "listeners");
}

export function clusters(doc: EnvoyDoc): Obj[] {
  return arr(obj(doc.static_resources, "static_resources").clusters, "clusters");
}

/** The http_connection_manager's `config` of every listener. */
export function hcms(doc: EnvoyDoc): Obj[] {
  return listeners(doc).flatMap((l) =>
    arr(l.filter_chains, "filter_chains").flatMap((fc) =>
      arr(fc.filters, "filters").map((f) => obj(f.config, "filter config")),
    ),
  );
}

export function setRoutes(doc: EnvoyDoc, list: Obj[]): EnvoyDoc {
  for (const hcm of hcms(doc)) {
    for (const vh of arr(obj(hcm.route_config, "route_config").virtual_hosts, "virtual_hosts")) {
      vh.routes = clone(list);
    }
  }
  return doc;
}

export function cluster(doc: EnvoyDoc, name: string): Obj {
  const found = clusters(doc).find((c) => c.name === name);
  if (!found) throw new Error(`envoy doc: no cluster ${name}`);
  return found;
}

function hostsOf(c: Obj): { address: string; port: number }[] {
  return arr(c.hosts, "hosts").map((h) => {
    const sa = obj(h.socket_address, "socket_address");
    return { address: String(sa.address), port: Number(sa.port_value) };
  });
}

function setHosts(c: Obj, hosts: { address: string; port: number }[]): Obj {
  c.hosts = hosts.map((h) => ({ socket_address: { address: h.address, port_value: h.port } }));
  return c;
}

/**
 * A copy of `doc` whose cluster hosts name addresses instead of DNS names: each host whose address
 * `names` knows becomes one host per address (same port). For a proxy that cannot be told where
 * names live (Envoy, in the process driver); strict_dns keeps its meaning for an IP literal.
 */
export function inlineNames(doc: EnvoyDoc, names: ReadonlyMap<string, string[]>): EnvoyDoc {
  const out = clone(doc);
  for (const c of clusters(out)) {
    if (c.load_assignment !== undefined) {
      inlineEndpoints(obj(c.load_assignment, "load_assignment"), names);
      continue;
    }
    setHosts(
      c,
      hostsOf(c).flatMap((h) => names.get(h.address)?.map((address) => ({ address, port: h.port })) ?? [h]),
    );
  }
  return out;
}

/** `inlineNames` for a load_assignment: each lb_endpoint becomes one per address, its weight kept. */
function inlineEndpoints(la: Obj, names: ReadonlyMap<string, string[]>): void {
  for (const locality of arr(la.endpoints, "load_assignment.endpoints")) {
    locality.lb_endpoints = arr(locality.lb_endpoints, "lb_endpoints").flatMap((lbe) => {
      const sa = obj(obj(obj(lbe.endpoint, "endpoint").address, "address").socket_address, "socket_address");
      const addresses = names.get(String(sa.address));
      if (addresses === undefined) return [lbe];
      return addresses.map((address) => {
        const copy = clone(lbe);
        const at = obj(
          obj(obj(copy.endpoint, "endpoint").address, "address").socket_address,
          "socket_address",
        );
        at.address = address;
        return copy;
      });
    });
  }
}

/** Every socket_address in the document (listeners, admin, cluster hosts), for address rewriting. */
export function socketAddresses(doc: EnvoyDoc): Obj[] {
  const found: Obj[] = [];
  const visit = (value: unknown) => {
    if (Array.isArray(value)) {
      for (const v of value) visit(v);
    } else if (typeof value === "object" && value !== null) {
      const o = value as Obj;
      if (typeof o.socket_address === "object" && o.socket_address !== null)
        found.push(o.socket_address as Obj);
      for (const v of Object.values(o)) visit(v);
    }
  };
  visit(doc);
  return found;
}
