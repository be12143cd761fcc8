/** Turn a topology's proxy config into the file a target reads, and the command line it is read with. */
import { stringify } from "yaml";
import { envoyDoc } from "../../lib/topology/envoy.js";
import { clone, socketAddresses } from "../../lib/topology/envoy_doc.js";
import { toV3 } from "../../lib/topology/envoy_v3.js";
import type { Address, Dialect } from "../../lib/topology/model.js";
import { renderProxy } from "../../lib/topology/render.js";
import { inlineHosts, mapAddresses } from "../../lib/topology/spec.js";
import type { EnvoyDoc, ProxyNode, Target } from "./types.js";

export interface AddressRewrite {
  /** New address for a socket_address, or undefined to keep it. */
  address?(address: string): string | undefined;
  port?(port: number): number | undefined;
}

export function renderConfig(doc: EnvoyDoc, target: Target, rewrite: AddressRewrite = {}): string {
  let out = clone(doc);
  for (const sa of socketAddresses(out)) {
    const address = rewrite.address?.(String(sa.address));
    if (address !== undefined) sa.address = address;
    const port = rewrite.port?.(Number(sa.port_value));
    if (port !== undefined) sa.port_value = port;
  }
  if (target.transform) out = target.transform(out);
  if (target.dialect === "envoy-v3") out = toV3(out);
  return stringify(out);
}

/**
 * Envoy's command line for a rendered config, as the seed runs it: one worker, so round robin is
 * global. Our proxy, Envoy images and the mini proxy all take it.
 */
export function envoyArgs(configPath: string, serviceCluster: string): string[] {
  return ["-c", configPath, "--service-cluster", serviceCluster, "--concurrency", "1"];
}

/** The process driver's name resolution as a flag: `--dns-map name=ip1,name=ip2` (a name may repeat). */
export function dnsMapArgs(dnsMap: Map<string, string[]>): string[] {
  return ["--dns-map", [...dnsMap].flatMap(([name, ips]) => ips.map((ip) => `${name}=${ip}`)).join(",")];
}

/** The dialect of a target the suite configures (an external proxy has none: a driver never starts it). */
export function configured(target: Target): Dialect {
  if (target.dialect === "external") throw new Error(`target ${target.name} is not configured by the suite`);
  return target.dialect;
}

/** Envoy's config dialects: they come with Envoy's admin (stats, /clusters, /ready). */
export function isEnvoyDialect(dialect: Dialect | "external"): dialect is "envoy-v2" | "envoy-v3" {
  return dialect === "envoy-v2" || dialect === "envoy-v3";
}

/** A proxy node's Envoy document: its spec rendered in the seed's v2 dialect, plus its Envoy-only parts. */
export function nodeDoc(p: ProxyNode): EnvoyDoc {
  return envoyDoc(p.spec, { workDir: "", profile: "default", ...(p.envoy ? { envoy: p.envoy } : {}) });
}

/** The port of a proxy's listener (for `reload`, its LDS listener: the same spec). */
export function listenerPortOf(p: ProxyNode): number {
  return p.spec.listener.address.port;
}

/** The ports of all a proxy's listeners: its main one, then its extra ones (a TLS listener). */
export function listenerPortsOf(p: ProxyNode): number[] {
  return [listenerPortOf(p), ...(p.spec.extraListeners ?? []).map((l) => l.address.port)];
}

/**
 * The configured port of the listener a test asks for (`RunningTopology.listener(proxy, port)`):
 * `port` when the proxy listens on it, its main listener's when none is given.
 */
export function listenerPort(p: ProxyNode, port?: number): number {
  if (port === undefined) return listenerPortOf(p);
  if (!listenerPortsOf(p).includes(port)) throw new Error(`proxy ${p.name} has no listener on port ${port}`);
  return port;
}

/** The port of a proxy's admin (Envoy dialects). */
export function adminPortOf(p: ProxyNode): number {
  if (p.spec.admin === null) throw new Error(`proxy ${p.name} has no admin`);
  return p.spec.admin.port;
}

/**
 * A proxy node's config for a target that is not Envoy (HAProxy, nginx, Caddy): its spec with the
 * driver's addresses (`map`); strict_dns clusters ask the driver's DNS server (`resolver`) where the
 * dialect can, else the renderer writes in the addresses names stand for at start (`names`).
 * Envoy-only parts (`ProxyNode.envoy`) are not rendered: the features that need them are Envoy's.
 */
export function renderSpec(
  p: ProxyNode,
  target: Target,
  o: {
    map: (a: Address) => Address;
    names: ReadonlyMap<string, string[]>;
    resolver: Address;
    workDir: string;
  },
): string {
  let spec = mapAddresses(p.spec, o.map);
  if (target.names === "inline") spec = inlineHosts(spec, o.names);
  return renderProxy(spec, configured(target), {
    workDir: o.workDir,
    profile: "default",
    names: o.names,
    resolver: { host: o.resolver.host, port: o.resolver.port },
  });
}
