import { describe, expect, it } from "vitest";
import { loadConfigString, ProxyConfigError } from "../../config/load.js";
import type { ForwardAction } from "../../config/model.js";
import { RouteTable } from "../../router/route_table.js";

/** A bootstrap with one listener whose HCM filter has `hcm` (its config block, indented 8), then `rest`. */
function oneListener(hcm: string, rest = ""): string {
  return `
static_resources:
  listeners:
  - address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.http_connection_manager
${hcm}
${rest}`;
}

/** A v2 bootstrap around one HCM `config:` body and the given clusters. */
function v2(hcmExtra: string, routes: string, clusters = "", top = ""): string {
  return oneListener(
    `        config:
          stat_prefix: s
${hcmExtra}
          route_config:
            virtual_hosts:
            - name: v
              domains: ["*"]
              routes:
${routes}
          http_filters:
          - name: envoy.router`,
    `  clusters:
  - name: a
    connect_timeout: { seconds: 1, nanos: 500000000 }
    type: STATIC
    lb_policy: LEAST_REQUEST
    hosts: [{ socket_address: { address: 127.0.0.1, port_value: 1 } }]
  - name: b
    hosts: [{ socket_address: { address: 127.0.0.1, port_value: 2 } }]
${clusters}
${top}`,
  );
}

describe("v2 spellings", () => {
  it("regex, host_rewrite, old header matchers, total_weight, use_websocket, access log, idle_timeout", () => {
    const b = loadConfigString(
      v2(
        `          idle_timeout: 30s
          access_log:
          - name: envoy.file_access_log
            config: { path: /dev/stdout, format: "%PROTOCOL%\\n" }`,
        `              - match:
                  regex: "/r/[a-z]+"
                  headers:
                  - { name: x-re, regex_match: "v[0-9]" }
                  - { name: x-ex, exact_match: "1", invert_match: true }
                route:
                  host_rewrite: up.internal
                  use_websocket: true
                  weighted_clusters:
                    total_weight: 10
                    clusters: [{ name: a, weight: 7 }, { name: b, weight: 3 }]`,
      ),
    );
    expect(b.version).toBe("v2");
    const hcm = b.listeners[0]!.hcm;
    expect(hcm.idleTimeoutMs).toBe(30_000);
    expect(hcm.accessLogs).toEqual([{ path: "/dev/stdout", format: "%PROTOCOL%\n" }]);
    const route = hcm.routeConfig.virtualHosts[0]!.routes[0]!;
    expect(route.match.path.kind).toBe("regex");
    expect(route.match.headers.map((h) => [h.name, h.match.kind, h.invert])).toEqual([
      ["x-re", "regex", false],
      ["x-ex", "exact", true],
    ]);
    const action = route.action as ForwardAction;
    expect(action.hostRewriteLiteral).toBe("up.internal");
    expect(action.totalWeight).toBe(10);
    expect(action.upgrades.get("websocket")).toBe(true);
    expect(b.clusters[0]).toMatchObject({
      connectTimeoutMs: 1_500,
      type: "static",
      lbPolicy: "least_request",
    });
    // connect_timeout, type and lb_policy have defaults (v2 required connect_timeout; we accept its absence).
    expect(b.clusters[1]).toMatchObject({ connectTimeoutMs: 5_000, type: "static", lbPolicy: "round_robin" });
  });

  it("a v2 typed_config type URL is accepted and marks the file v2", () => {
    const text = oneListener(`        typed_config:
          "@type": type.googleapis.com/envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager
          stat_prefix: s
          route_config: { virtual_hosts: [] }
          http_filters: [{ name: envoy.router }]`);
    expect(loadConfigString(text).version).toBe("v2");
  });

  it("ignored informational fields load with a warning naming the path", () => {
    const text = v2(
      "",
      "              - { match: { prefix: / }, route: { cluster: a } }",
      "",
      "layered_runtime: {}",
    );
    const line = text.split("\n").findIndex((l) => l.startsWith("layered_runtime")) + 1;
    expect(loadConfigString(text).warnings).toEqual([
      `layered_runtime: ignored (has no effect in echomesh-proxy) (line ${line})`,
    ]);
  });

  it("validate_clusters: false allows unknown clusters (the router answers cluster_not_found)", () => {
    const text = v2("", "              - { match: { prefix: / }, route: { cluster: nope } }").replace(
      "          route_config:\n",
      "          route_config:\n            validate_clusters: false\n",
    );
    expect(() => loadConfigString(text)).not.toThrow();
    expect(() =>
      loadConfigString(text.replace("validate_clusters: false", "validate_clusters: true")),
    ).toThrow(ProxyConfigError);
  });

  it("enums are case-insensitive", () => {
    for (const codec of ["auto", "AUTO", "Auto"]) {
      const b = loadConfigString(
        v2(
          `          codec_type: ${codec}`,
          "              - { match: { prefix: / }, route: { cluster: a } }",
        ),
      );
      expect(b.listeners[0]!.hcm.codecType).toBe("auto");
    }
  });

  it("durations: seconds strings and {seconds, nanos}; other units rejected with a hint", () => {
    const withTimeout = (t: string) =>
      v2("", `              - { match: { prefix: / }, route: { cluster: a, timeout: ${t} } }`);
    const timeout = (t: string) =>
      (
        loadConfigString(withTimeout(t)).listeners[0]!.hcm.routeConfig.virtualHosts[0]!.routes[0]!
          .action as ForwardAction
      ).timeoutMs;
    expect(timeout("0.25s")).toBe(250);
    expect(timeout("1.5s")).toBe(1_500);
    expect(timeout("0s")).toBe(0);
    expect(timeout("0.0001s")).toBe(1);
    expect(timeout("{ seconds: 2 }")).toBe(2_000);
    expect(timeout("99999999s")).toBe(2_147_483_647);
    expect(() => loadConfigString(withTimeout("100ms"))).toThrow(
      /invalid duration "100ms" \(durations are seconds with an "s" suffix: "0.1s"\)/,
    );
    expect(() => loadConfigString(withTimeout("-1s"))).toThrow(/invalid duration "-1s"/);
  });

  it("query parameter value (+ regex: true): v2 matchers, routed as Envoy 1.7 did", () => {
    const b = loadConfigString(
      v2(
        "",
        `              - name: re
                match: { prefix: /, query_parameters: [{ name: id, value: "[0-9]+", regex: true }] }
                route: { cluster: a }
              - name: v
                match: { prefix: /, query_parameters: [{ name: id, value: abc }] }
                route: { cluster: a }`,
      ),
    );
    expect(b.version).toBe("v2");
    const table = new RouteTable(b.listeners[0]!.hcm.routeConfig);
    const sel = (path: string) => table.select("host", path, () => undefined)?.route.name ?? null;
    expect(sel("/?id=42")).toBe("re");
    expect(sel("/?id=abc")).toBe("v");
    expect(sel("/?id=abcd")).toBeNull();
  });

  it("an empty or non-mapping document is rejected", () => {
    expect(() => loadConfigString("")).toThrow(ProxyConfigError);
    expect(() => loadConfigString("[]")).toThrow(/expected a mapping/);
  });
});
