import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DnsServer } from "../../../lib/dns_server.js";
import { poll } from "../../../lib/wait.js";
import { loadConfigString } from "../../config/load.js";
import type { ClusterConfig } from "../../config/model.js";
import { StatsStore } from "../../stats/store.js";
import { createClusterManager } from "../../upstream/cluster_manager.js";
import { serversResolver } from "../../upstream/dns_resolvers.js";
import { FakeDns, poolFactory } from "./fakes.js";

/** A v3 strict_dns cluster `c` over the name `echo`, with `extra` lines at the cluster's indent. */
function config(...extra: string[]): string {
  return [
    "static_resources:",
    "  clusters:",
    "  - name: c",
    "    type: STRICT_DNS",
    "    load_assignment:",
    "      cluster_name: c",
    "      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: echo, port_value: 8080}}}}]}]",
    ...extra.map((l) => `    ${l}`),
  ].join("\n");
}
const cluster = (...extra: string[]) => loadConfigString(config(...extra)).clusters[0] as ClusterConfig;
const at = (port: number, ip = "127.0.0.1") => `[{socket_address: {address: ${ip}, port_value: ${port}}}]`;
const CARES = "type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig";
const typed = (resolvers: string) =>
  `typed_dns_resolver_config: {name: envoy.network.dns_resolver.cares, typed_config: {"@type": ${CARES}, resolvers: ${resolvers}}}`;

describe("a cluster's DNS servers (config)", () => {
  it("reads dns_resolvers, dns_resolution_config.resolvers and the c-ares typed_dns_resolver_config", () => {
    const servers = [{ address: "127.0.0.1", port: 5353 }];
    expect(cluster().dnsResolvers).toEqual([]);
    expect(cluster(`dns_resolvers: ${at(5353)}`).dnsResolvers).toEqual(servers);
    expect(cluster(`dns_resolution_config: {resolvers: ${at(5353)}}`).dnsResolvers).toEqual(servers);
    expect(cluster(typed(at(5353))).dnsResolvers).toEqual(servers);
    expect(
      cluster(`dns_resolvers: [{socket_address: {address: "::1", port_value: 53}}]`).dnsResolvers,
    ).toEqual([{ address: "::1", port: 53 }]);
  });

  it("takes the typed config first, then dns_resolution_config, then dns_resolvers (Envoy 1.40)", () => {
    const both = cluster(
      `dns_resolvers: ${at(1)}`,
      `dns_resolution_config: {resolvers: ${at(2)}}`,
      typed(at(3)),
    );
    expect(both.dnsResolvers).toEqual([{ address: "127.0.0.1", port: 3 }]);
    expect(
      cluster(`dns_resolvers: ${at(1)}`, `dns_resolution_config: {resolvers: ${at(2)}}`).dnsResolvers,
    ).toEqual([{ address: "127.0.0.1", port: 2 }]);
    // Present but empty still wins: the system resolver.
    expect(cluster(`dns_resolvers: ${at(1)}`, typed("[]")).dnsResolvers).toEqual([]);
  });

  it("rejects what Envoy rejects, and what we do not apply, naming the path", () => {
    expect(() => cluster("dns_resolvers: [{socket_address: {address: 127.0.0.1}}]")).toThrow(
      /dns_resolvers\[0\]\.socket_address.*port_value/,
    );
    expect(() => cluster(`dns_resolvers: ${at(53, "localhost")}`)).toThrow(/not an IP address/);
    expect(() =>
      cluster(
        `typed_dns_resolver_config: {name: x, typed_config: {"@type": type.googleapis.com/envoy.extensions.network.dns_resolver.getaddrinfo.v3.GetAddrInfoDnsResolverConfig}}`,
      ),
    ).toThrow(/typed_dns_resolver_config.*unsupported DNS resolver type/);
    expect(() =>
      cluster(
        `dns_resolution_config: {resolvers: ${at(53)}, dns_resolver_options: {use_tcp_for_dns_lookups: true}}`,
      ),
    ).toThrow(/dns_resolution_config\.dns_resolver_options\.use_tcp_for_dns_lookups.*unsupported value true/);
  });
});

describe("a cluster's DNS servers (resolution)", () => {
  let server: DnsServer;
  beforeAll(async () => {
    server = await DnsServer.start();
  });
  afterAll(async () => {
    await server.close();
  });

  it("resolves per dns_lookup_family through the servers, on a port other than 53", async () => {
    server.set("dual", ["127.9.0.1", "::1"]);
    server.set("v4", ["127.9.0.2"]);
    const resolve = serversResolver([{ address: server.host, port: server.port }]);
    expect(await resolve("dual", "auto")).toEqual(["::1"]);
    expect(await resolve("v4", "auto")).toEqual(["127.9.0.2"]);
    expect(await resolve("dual", "v4_preferred")).toEqual(["127.9.0.1"]);
    expect(await resolve("dual", "all")).toEqual(["127.9.0.1", "::1"]);
    expect(await resolve("v4", "v6_only")).toEqual([]);
    expect(await resolve("missing", "v4_only")).toEqual([]);
    expect(await resolve("127.1.2.3", "auto")).toEqual(["127.1.2.3"]);
  });

  it("a strict_dns cluster follows its own server (not the manager's resolver) as records change", async () => {
    server.set("echo", ["127.9.0.1", "127.9.0.2"]);
    const config = {
      ...cluster(`dns_resolvers: ${at(server.port)}`, "dns_refresh_rate: 0.05s"),
    };
    const other = new FakeDns(); // the system resolver's stand-in: never asked
    const cm = createClusterManager([config], {
      stats: new StatsStore(),
      createPool: poolFactory().createPool,
      resolver: other.resolver,
    });
    const c = cm.get("c");
    const members = () => (c?.hosts ?? []).filter((h) => !h.draining).map((h) => h.key);
    try {
      await cm.initialize();
      expect(members()).toEqual(["127.9.0.1:8080", "127.9.0.2:8080"]);
      server.add("echo", "127.9.0.3");
      await poll(members, (m) => m.length === 3, { withinMs: 5_000, intervalMs: 20 });
      server.remove("echo", "127.9.0.1");
      await poll(members, (m) => m.join() === "127.9.0.2:8080,127.9.0.3:8080", {
        withinMs: 5_000,
        intervalMs: 20,
      });
      expect(other.calls).toEqual([]);
    } finally {
      await cm.close();
    }
  });
});
