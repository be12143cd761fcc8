import type { ClusterConfig } from "../config/model.js";
import { BaseCluster, type ClusterDeps } from "./base_cluster.js";
import { Host } from "./host.js";

/** STATIC: the configured addresses (IP literals), fixed for the cluster's life. Duplicates collapse. */
export class StaticCluster extends BaseCluster {
  constructor(config: ClusterConfig, deps: ClusterDeps) {
    super(config, deps);
    const hosts: Host[] = [];
    const seen = new Set<string>();
    for (const ep of config.endpoints) {
      const host = new Host(
        ep.address.address,
        ep.address.port,
        ep.weight,
        ep.hostname ?? ep.address.address,
        this.resources,
      );
      if (seen.has(host.key)) continue;
      seen.add(host.key);
      hosts.push(host);
    }
    this.updateMembership(hosts);
  }

  async initialize(): Promise<void> {}

  protected stopDiscovery(): void {}
}
