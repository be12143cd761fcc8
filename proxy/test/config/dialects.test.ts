/**
 * The dialect rules (proxy/config/context.ts) and the fields accepted with a warning. The verdicts
 * on whole files, against Envoy's own, are in proxy/test/cli/validate_corpus.test.ts.
 */
import { describe, expect, it } from "vitest";
import { loadConfigString, ProxyConfigError } from "../../config/load.js";
import type { Bootstrap, ForwardAction } from "../../config/model.js";

const HCM_URL =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER_URL = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";

/** A bootstrap: one listener (its filter `filter`, its route `route`), cluster `a` (+ `cluster` lines). */
function bootstrap(o: { filter?: string; route?: string; cluster?: string; top?: string } = {}): string {
  const filter =
    o.filter ??
    `typed_config:
          "@type": ${HCM_URL}`;
  return `
static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        ${filter}
          stat_prefix: s
          route_config:
            virtual_hosts:
            - name: v
              domains: ["*"]
              routes:
              - match: { prefix: / }
                route: ${o.route ?? "{ cluster: a }"}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": ${ROUTER_URL} }
  clusters:
  - name: a
    load_assignment: { cluster_name: a, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 1 } } } }] }] }
${o.cluster ?? ""}
${o.top ?? ""}`;
}

/** The same listener in v2: the connection manager's `config:` and the router by name. */
const V2_FILTER = "config:";

/** Errors without the trailing ` (line N)`. */
function errorsOf(text: string): string[] {
  try {
    loadConfigString(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ProxyConfigError);
    return (err as ProxyConfigError).errors.map((e) => e.replace(/ \(line \d+\)$/, ""));
  }
  throw new Error("loaded but must be rejected");
}

/** Warnings without the trailing ` (line N)`. */
function warningsOf(b: Bootstrap): string[] {
  return (b.warnings ?? []).map((w) => w.replace(/ \(line \d+\)$/, ""));
}

describe("the dialect", () => {
  it("a v3 type URL makes the file v3; v2 spellings alone make it v2; neither is v3", () => {
    expect(loadConfigString(bootstrap()).version).toBe("v3");
    const v2 = bootstrap({ filter: V2_FILTER }).replace(
      `typed_config: { "@type": ${ROUTER_URL} }`,
      "config: {}",
    );
    expect(loadConfigString(v2).version).toBe("v2");
    expect(loadConfigString("static_resources: {}").version).toBe("v3");
  });

  it("v2 spellings in a v3 file are errors naming the v3 spelling", () => {
    expect(errorsOf(bootstrap({ filter: V2_FILTER }))).toEqual([
      'static_resources.listeners[0].filter_chains[0].filters[0].config: v2 syntax in a v3 file (Envoy 1.40 rejects it): use typed_config with an "@type"',
    ]);
    expect(errorsOf(bootstrap({ route: "{ cluster: a, use_websocket: true }" }))[0]).toMatch(
      /routes\[0\]\.route\.use_websocket: v2 syntax in a v3 file \(Envoy 1\.40 rejects it\): use upgrade_configs/,
    );
  });

  it("deprecated v2 spellings: a warning in a v3 file, nothing in a v2 file", () => {
    const h2 = "    http2_protocol_options: {}";
    expect(warningsOf(loadConfigString(bootstrap({ cluster: h2 })))).toEqual([
      "static_resources.clusters[0].http2_protocol_options: deprecated in v3 (Envoy 1.40 warns; use typed_extension_protocol_options (envoy.extensions.upstreams.http.v3.HttpProtocolOptions))",
    ]);
    const v2 = bootstrap({ filter: V2_FILTER, cluster: h2 }).replace(
      `typed_config: { "@type": ${ROUTER_URL} }`,
      "config: {}",
    );
    const b = loadConfigString(v2);
    expect(b.version).toBe("v2");
    expect(b.warnings).toEqual([]);
    expect(b.clusters[0]?.protocol).toBe("http2");
  });

  it("total_weight: equal to the sum in v2, ignored (a warning) in v3; the model keeps the sum", () => {
    const route = "{ weighted_clusters: { total_weight: 100, clusters: [{ name: a, weight: 90 }] } }";
    const v3 = loadConfigString(bootstrap({ route }));
    expect(warningsOf(v3)).toEqual([
      "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route.weighted_clusters.total_weight: deprecated and ignored (Envoy 1.40 uses the sum of the weights, 90)",
    ]);
    const action = v3.listeners[0]?.hcm.routeConfig.virtualHosts[0]?.routes[0]?.action as ForwardAction;
    expect(action.totalWeight).toBe(90);
    const v2 = bootstrap({ filter: V2_FILTER, route }).replace(
      `typed_config: { "@type": ${ROUTER_URL} }`,
      "config: {}",
    );
    expect(errorsOf(v2)[0]).toMatch(
      /weighted_clusters\.total_weight: is 100 but the cluster weights add up to 90/,
    );
  });
});

describe("protobuf JSON names", () => {
  it("a field may be spelled by its JSON name; the model is the same", () => {
    const snake = loadConfigString(bootstrap({ cluster: "    connect_timeout: 2s\n    lb_policy: RANDOM" }));
    const camel = loadConfigString(bootstrap({ cluster: "    connectTimeout: 2s\n    lbPolicy: RANDOM" }));
    expect(camel).toEqual(snake);
    expect(camel.clusters[0]).toMatchObject({ connectTimeoutMs: 2_000, lbPolicy: "random" });
  });

  it("both spellings at once are an error; errors name the field as written", () => {
    expect(errorsOf(bootstrap({ cluster: "    connect_timeout: 2s\n    connectTimeout: 3s" }))).toEqual([
      "static_resources.clusters[0].connectTimeout: set twice (also as connect_timeout)",
    ]);
    expect(errorsOf(bootstrap({ cluster: "    connectTimeout: 2ms" }))[0]).toMatch(
      /^static_resources\.clusters\[0\]\.connectTimeout: invalid duration "2ms"/,
    );
  });
});

describe("fields accepted with a warning", () => {
  it("name the field and why; their insides are still checked", () => {
    const cluster = `    circuit_breakers: { thresholds: [{ priority: HIGH, max_connections: 10 }] }
    outlier_detection: { consecutive_5xx: 3 }
    health_checks: [{ timeout: 1s, interval: 5s, unhealthy_threshold: 2, healthy_threshold: 1, grpc_health_check: {} }]`;
    expect(warningsOf(loadConfigString(bootstrap({ cluster })))).toEqual([
      "static_resources.clusters[0].health_checks[0].grpc_health_check: ignored (echomesh-proxy sends no gRPC or custom health checks; every host counts as healthy)",
    ]);
    const typo = "    circuit_breakers: { thresholds: [{ max_conections: 10 }] }";
    expect(errorsOf(bootstrap({ cluster: typo }))[0]).toMatch(
      /circuit_breakers\.thresholds\[0\]\.max_conections: unknown field \(did you mean "max_connections"\?\)/,
    );
    const incomplete = "    health_checks: [{ timeout: 1s, interval: 0s, healthy_threshold: 1 }]";
    expect(errorsOf(bootstrap({ cluster: incomplete }))).toEqual([
      "static_resources.clusters[0].health_checks[0].interval: must be greater than 0",
      "static_resources.clusters[0].health_checks[0].unhealthy_threshold: required field is missing",
      "static_resources.clusters[0].health_checks[0]: one of http_health_check, tcp_health_check, grpc_health_check, custom_health_check is required",
    ]);
  });

  it("an unknown retry_on condition is ignored with a hint, as Envoy ignores it", () => {
    const b = loadConfigString(
      bootstrap({ route: '{ cluster: a, retry_policy: { retry_on: "5xx,conect-failure" } }' }),
    );
    expect(warningsOf(b)).toEqual([
      'static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route.retry_policy.retry_on: ignored unknown value "conect-failure" (did you mean "connect-failure"?)',
    ]);
    const action = b.listeners[0]?.hcm.routeConfig.virtualHosts[0]?.routes[0]?.action as ForwardAction;
    expect([...(action.retryPolicy?.retryOn ?? [])]).toEqual(["5xx"]);
  });

  it("a second listener with a taken name is dropped (Envoy keeps the first)", () => {
    const text = bootstrap();
    const listener = text.slice(text.indexOf("  - name: l"), text.indexOf("  clusters:"));
    const b = loadConfigString(
      text.replace("  clusters:", `${listener.replace("stat_prefix: s", "stat_prefix: t")}  clusters:`),
    );
    expect(b.listeners.map((l) => l.hcm.statPrefix)).toEqual(["s"]);
    expect(warningsOf(b)).toEqual([
      'static_resources.listeners[1].name: ignored: listener name "l" is taken by listeners[0] (Envoy keeps the first)',
    ]);
  });

  it("Envoy's defaults spelled out are accepted; other values are errors naming the field", () => {
    const defaults = `typed_config:
          "@type": ${HCM_URL}
          normalize_path: false
          server_header_transformation: OVERWRITE
          common_http_protocol_options: { headers_with_underscores_action: ALLOW }`;
    expect(loadConfigString(bootstrap({ filter: defaults })).warnings).toEqual([]);
    const other = defaults
      .replace("OVERWRITE", "PASS_THROUGH")
      .replace("normalize_path: false", "normalize_path: true");
    expect(errorsOf(bootstrap({ filter: other })).map((e) => e.replace(/^.*typed_config\./, ""))).toEqual([
      'server_header_transformation: unsupported value "PASS_THROUGH" (echomesh-proxy supports OVERWRITE)',
      "normalize_path: unsupported value true (echomesh-proxy routes the path as received; only false is supported)",
    ]);
  });
});
