/**
 * The suite's targets and what the process driver gives Envoy: the default run is our proxy (v2, v3)
 * and Envoy; every DNS cluster asks the driver's DNS server (v3: `typed_dns_resolver_config`); a
 * target without DNS servers of its own can have the names' loopback addresses in its config instead.
 */

import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { askDns } from "../harness/driver-processes.js";
import { inlineNames } from "../harness/envoy-doc.js";
import { renderConfig } from "../harness/render.js";
import { ENVOY_EXTRA_ARGS, selectTarget, selectTargets } from "../harness/targets.js";
import { topology } from "../harness/topologies.js";

const saved = { one: process.env.ECHOMESH_TARGET, list: process.env.ECHOMESH_TARGETS };
afterEach(() => {
  for (const [key, value] of [
    ["ECHOMESH_TARGET", saved.one],
    ["ECHOMESH_TARGETS", saved.list],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe("selectTargets", () => {
  const cases: { name: string; list?: string; one?: string; want: string[] }[] = [
    {
      name: "default: our proxy with v2 and v3 configs, then Envoy",
      want: ["echomesh", "echomesh-v3", "envoy"],
    },
    { name: "ECHOMESH_TARGET alone", one: "envoy", want: ["envoy"] },
    {
      name: "ECHOMESH_TARGETS wins",
      one: "envoy",
      list: "echomesh-v3, echomesh",
      want: ["echomesh-v3", "echomesh"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      delete process.env.ECHOMESH_TARGET;
      delete process.env.ECHOMESH_TARGETS;
      if (c.one !== undefined) process.env.ECHOMESH_TARGET = c.one;
      if (c.list !== undefined) process.env.ECHOMESH_TARGETS = c.list;
      expect(selectTargets().map((t) => t.name)).toEqual(c.want);
    });
  }

  it("refuses an unknown target and a target named twice", () => {
    expect(() => selectTargets("echomesh,nginx")).toThrow(/nginx: unknown/);
    expect(() => selectTargets("envoy,envoy")).toThrow(/named twice/);
  });
});

describe("the envoy target on loopback", () => {
  const envoy = selectTarget("envoy");
  const names = new Map([
    ["service1", ["127.9.0.1"]],
    ["service2", ["127.9.0.2", "127.9.0.3"]],
  ]);

  it("runs Envoy's command line with one worker and no hot restart", () => {
    expect(envoy.names).toBeUndefined();
    expect(envoy.dialect).toBe("v3");
    expect(envoy.containerCommand("/etc/envoy/envoy.yaml", "front-proxy")).toEqual([
      "envoy",
      "-c",
      "/etc/envoy/envoy.yaml",
      "--service-cluster",
      "front-proxy",
      "--concurrency",
      "1",
      ...ENVOY_EXTRA_ARGS,
    ]);
    expect(ENVOY_EXTRA_ARGS).toContain("--disable-hot-restart");
  });

  it("asks the driver's DNS server: the c-ares typed_dns_resolver_config in v3, dns_resolvers in v2", () => {
    const front = topology("front").proxies[0];
    if (!front) throw new Error("no front proxy");
    const dns = { host: "127.9.9.9", port: 5353 };
    const resolvers = [{ socket_address: { address: "127.9.9.9", port_value: 5353 } }];
    const v3 = parse(renderConfig(askDns(front.config, dns), envoy)) as {
      static_resources: { clusters: Record<string, unknown>[] };
    };
    expect(v3.static_resources.clusters[0]?.typed_dns_resolver_config).toEqual({
      name: "envoy.network.dns_resolver.cares",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig",
        resolvers,
      },
    });
    const v2 = parse(renderConfig(askDns(front.config, dns), selectTarget("echomesh"))) as typeof v3;
    expect(v2.static_resources.clusters[0]?.dns_resolvers).toEqual(resolvers);
    expect(JSON.stringify(front.config)).not.toContain("dns_resolvers");
  });

  it("can get one strict_dns host per address of each name instead, in a v3 config", () => {
    const front = topology("front").proxies[0];
    if (!front) throw new Error("no front proxy");
    const doc = parse(renderConfig(inlineNames(front.config, names), envoy)) as {
      static_resources: { clusters: { name: string; type: string; load_assignment: unknown }[] };
    };
    const [cluster] = doc.static_resources.clusters;
    expect(cluster?.type).toBe("STRICT_DNS");
    expect(JSON.stringify(cluster?.load_assignment)).toBe(
      JSON.stringify({
        cluster_name: "myservice",
        endpoints: [
          {
            lb_endpoints: ["127.9.0.1", "127.9.0.2", "127.9.0.3"].map((address) => ({
              endpoint: { address: { socket_address: { address, port_value: 8080 } } },
            })),
          },
        ],
      }),
    );
  });

  it("leaves names it does not know and the topology's own document alone", () => {
    const front = topology("front").proxies[0];
    if (!front) throw new Error("no front proxy");
    const before = JSON.stringify(front.config);
    const out = inlineNames(front.config, new Map([["service1", ["127.9.0.1"]]]));
    expect(JSON.stringify(out)).toContain('"address":"service2"');
    expect(JSON.stringify(front.config)).toBe(before);
  });
});
