/**
 * The suite's targets and what the process driver gives Envoy: the default run is our proxy (v2, v3)
 * and Envoy; every DNS cluster asks the driver's DNS server (v3: `typed_dns_resolver_config`); a
 * target without DNS servers of its own can have the names' loopback addresses in its config instead.
 */

import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { inlineNames } from "../../lib/topology/envoy_doc.js";
import { askDns } from "../harness/driver-processes.js";
import { ALL_FEATURES } from "../harness/features.js";
import { nodeDoc, renderConfig } from "../harness/render.js";
import { ENVOY_EXTRA_ARGS, PEERS, selectTarget, selectTargets } from "../harness/targets.js";
import { topology } from "../harness/topologies.js";
import { headerTests } from "../tests/headers.js";
import { http2Tests } from "../tests/http2.js";
import { allTests } from "../tests/index.js";
import { localReplyTests } from "../tests/local-replies.js";
import { roundRobinTests } from "../tests/round-robin.js";
import { websocketTests } from "../tests/websocket.js";

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
      name: "default: our proxy with v2 and v3 configs, Envoy, then HAProxy, nginx and Caddy",
      want: ["echomesh", "echomesh-v3", "envoy", "haproxy", "nginx", "caddy"],
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
    expect(() => selectTargets("echomesh,lighttpd")).toThrow(/lighttpd: unknown/);
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
    expect(envoy.dialect).toBe("envoy-v3");
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
    const v3 = parse(renderConfig(askDns(nodeDoc(front), dns), envoy)) as {
      static_resources: { clusters: Record<string, unknown>[] };
    };
    expect(v3.static_resources.clusters[0]?.typed_dns_resolver_config).toEqual({
      name: "envoy.network.dns_resolver.cares",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig",
        resolvers,
      },
    });
    const v2 = parse(renderConfig(askDns(nodeDoc(front), dns), selectTarget("echomesh"))) as typeof v3;
    expect(v2.static_resources.clusters[0]?.dns_resolvers).toEqual(resolvers);
    expect(JSON.stringify(nodeDoc(front))).not.toContain("dns_resolvers");
  });

  it("can get one strict_dns host per address of each name instead, in a v3 config", () => {
    const front = topology("front").proxies[0];
    if (!front) throw new Error("no front proxy");
    const doc = parse(renderConfig(inlineNames(nodeDoc(front), names), envoy)) as {
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
    const before = JSON.stringify(nodeDoc(front));
    const out = inlineNames(nodeDoc(front), new Map([["service1", ["127.9.0.1"]]]));
    expect(JSON.stringify(out)).toContain('"address":"service2"');
    expect(JSON.stringify(nodeDoc(front))).toBe(before);
  });
});

describe("the HAProxy, nginx and Caddy targets", () => {
  const peers = ["haproxy", "nginx", "caddy"].map(selectTarget);
  /** Features whose tests read Envoy's admin or Envoy-only config: no peer can pass them. */
  const envoyOnly = ["envoy-headers", "health-check", "outlier", "circuit-breaker", "retries", "reload"];

  it("run each program on its config file the way its own docs say", () => {
    const [haproxy, nginx, caddy] = peers.map((t) =>
      t.processCommand?.("/w/proxy/config.x", "front", new Map()),
    );
    expect(haproxy).toEqual(["haproxy", "-db", "-f", "/w/proxy/config.x"]);
    expect(nginx).toEqual(["nginx", "-p", "/w/proxy", "-c", "/w/proxy/config.x"]);
    expect(caddy).toEqual(["caddy", "run", "--adapter", "caddyfile", "--config", "/w/proxy/config.x"]);
    expect(peers.map((t) => t.dialect)).toEqual(["haproxy", "nginx", "caddy"]);
  });

  it("give nginx the names' addresses (it resolves once at start); HAProxy and Caddy ask the DNS server", () => {
    expect(peers.map((t) => t.names)).toEqual([undefined, "inline", undefined]);
  });

  it("keep Caddy's state in the proxy's own work folder", () => {
    expect(selectTarget("caddy").processEnv?.("/w/p")).toEqual({
      HOME: "/w/p",
      XDG_DATA_HOME: "/w/p",
      XDG_CONFIG_HOME: "/w/p",
    });
  });

  it("claim known features, once each, none that only Envoy's admin or config can show", () => {
    for (const t of peers) {
      expect(new Set(t.features).size, t.name).toBe(t.features.length);
      for (const f of t.features) expect(ALL_FEATURES, `${t.name}: ${f}`).toContain(f);
      for (const f of envoyOnly) expect(t.features, `${t.name}: ${f}`).not.toContain(f);
    }
    // nginx 1.22: no HTTP/2 upstream, so nothing that needs it.
    for (const f of ["h2-upstream", "mesh", "websocket-over-h2", "h2-downstream", "dns-membership"])
      expect(selectTarget("nginx").features).not.toContain(f);
    // Caddy 2.6: no weighted split nor weighted round robin.
    for (const f of ["weighted", "lb-weights"]) expect(selectTarget("caddy").features).not.toContain(f);
  });

  it("declare known defects only for tests that exist and that a claimed feature runs", () => {
    for (const t of peers) {
      for (const [id, evidence] of Object.entries(t.knownDefects ?? {})) {
        const test = allTests.find((c) => c.id === id);
        expect(test, `${t.name}: ${id}`).toBeDefined();
        expect(t.features, `${t.name}: ${id}`).toContain(test?.feature);
        expect(evidence.length, `${t.name}: ${id} has no evidence`).toBeGreaterThan(40);
      }
    }
  });

  it("the Envoy-config targets claim every feature", () => {
    for (const name of ["echomesh", "echomesh-v3", "envoy"])
      expect(selectTarget(name).features).toEqual(ALL_FEATURES);
  });

  it("run with the process driver only", async () => {
    for (const t of peers) expect(await t.unavailable("containers")).toMatch(/process driver only/);
  });

  it("say the program is not installed when it is not on PATH", async () => {
    const path = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      for (const t of ["haproxy", "nginx", "caddy"].map(selectTarget))
        expect(await t.unavailable("processes")).toBe(
          `${t.name} is not installed (Debian: apt-get install ${t.name})`,
        );
    } finally {
      process.env.PATH = path;
    }
  });

  it("read their versions from what `-v` and `caddy version` print", () => {
    const versionOf = (name: string, out: string) => PEERS.find((p) => p.name === name)?.versionOf(out);
    expect(versionOf("haproxy", "HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/")).toBe(
      "2.6.12-1+deb12u4",
    );
    expect(versionOf("nginx", "nginx version: nginx/1.22.1")).toBe("1.22.1");
    expect(versionOf("caddy", "v2.6.2 h1:wKoFIxpmOJLGl3QXoo6PNbYvGW4xLEgo32GPBEjWL8o=")).toBe("2.6.2");
  });
});

describe("the tests any proxy runs", () => {
  const anyProxy = [...roundRobinTests, ...http2Tests, ...headerTests, ...websocketTests, ...localReplyTests];

  it("each say what passing means", () => {
    const unsaid = anyProxy.filter((t) => (t.criterion ?? "").length < 60).map((t) => t.id);
    expect(unsaid).toEqual([]);
  });

  it("each belong to a feature some target other than Envoy's claims, or to Envoy's own headers", () => {
    const peerFeatures = new Set(["haproxy", "nginx", "caddy"].flatMap((n) => selectTarget(n).features));
    const unclaimed = anyProxy.filter((t) => !peerFeatures.has(t.feature)).map((t) => t.feature);
    expect([...new Set(unclaimed)].sort()).toEqual(["envoy-headers", "local-replies"]);
  });
});
