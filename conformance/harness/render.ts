/** Turn a topology's proxy config into the file a target reads, and the command line it is read with. */
import { stringify } from "yaml";
import { clone, socketAddresses } from "./envoy-doc.js";
import type { EnvoyDoc, Target } from "./types.js";
import { toV3 } from "./v3.js";

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
  if (target.dialect === "v3") out = toV3(out);
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
