import { describe, expect, it } from "vitest";
import { loadConfigString } from "../../config/load.js";
import type { ForwardAction, RouteConfiguration } from "../../config/model.js";
import { type HeaderLookup, pickCluster, RouteTable, rewritePath } from "../../router/route_table.js";

const HCM =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";

/** A RouteConfiguration loaded through the real config loader (v3 JSON). */
function routeConfig(virtualHosts: unknown[], extra: Record<string, unknown> = {}): RouteConfiguration {
  const cluster = (name: string) => ({
    name,
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: 1 } } } },
          ],
        },
      ],
    },
  });
  const bootstrap = {
    static_resources: {
      listeners: [
        {
          address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
          filter_chains: [
            {
              filters: [
                {
                  name: "hcm",
                  typed_config: {
                    "@type": HCM,
                    stat_prefix: "t",
                    route_config: { virtual_hosts: virtualHosts, ...extra },
                    http_filters: [{ name: "router", typed_config: { "@type": ROUTER } }],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: ["a", "b", "c"].map(cluster),
    },
  };
  return loadConfigString(JSON.stringify(bootstrap)).listeners[0]!.hcm.routeConfig;
}

/** One vhost per domain list, named after its first domain, each with a catch-all route. */
function hostTable(...domainLists: string[][]): RouteTable {
  return new RouteTable(
    routeConfig(
      domainLists.map((domains) => ({
        name: domains[0],
        domains,
        routes: [{ match: { prefix: "/" }, route: { cluster: "a" } }],
      })),
    ),
  );
}

const noHeaders: HeaderLookup = () => undefined;
const headersOf =
  (h: Record<string, string>): HeaderLookup =>
  (name) =>
    h[name];

/** The route names one vhost selects for each path. */
function routesTable(routes: unknown[]): (path: string, headers?: Record<string, string>) => string | null {
  const t = new RouteTable(routeConfig([{ name: "v", domains: ["*"], routes }]));
  return (path, headers = {}) => t.select("host", path, headersOf(headers))?.route.name ?? null;
}

const to = (name: string, match: Record<string, unknown>) => ({ name, match, route: { cluster: "a" } });

describe("virtual host selection", () => {
  const t = hostTable(["example.com"], ["*.foo.com"], ["*-bar.foo.com"], ["foo.*"], ["foo.bar.*"], ["*"]);
  const vhost = (authority: string) => t.findVirtualHost(authority)?.name ?? null;

  it("prefers exact, then the longest suffix wildcard, then the longest prefix wildcard, then *", () => {
    expect(vhost("example.com")).toBe("example.com");
    expect(vhost("a.foo.com")).toBe("*.foo.com");
    expect(vhost("x-bar.foo.com")).toBe("*-bar.foo.com");
    expect(vhost("foo.example")).toBe("foo.*");
    expect(vhost("foo.bar.example")).toBe("foo.bar.*");
    expect(vhost("other.org")).toBe("*");
  });

  it("suffix wildcards win over prefix wildcards", () => {
    expect(vhost("foo.x.foo.com")).toBe("*.foo.com");
  });

  it("lower-cases the authority", () => {
    expect(vhost("EXAMPLE.com")).toBe("example.com");
    expect(vhost("A.FOO.COM")).toBe("*.foo.com");
  });

  it("lower-cases configured domains", () => {
    const u = hostTable(["API.Example.COM"]);
    expect(u.findVirtualHost("api.example.com")?.name).toBe("API.Example.COM");
  });

  it("a wildcard never matches an empty string", () => {
    const u = hostTable(["*.foo.com"], ["foo.*"]);
    expect(u.findVirtualHost(".foo.com")).toBeNull();
    expect(u.findVirtualHost("foo.")).toBeNull();
    expect(u.findVirtualHost("x.foo.com")?.name).toBe("*.foo.com");
  });

  it("is port-aware: the port is part of the host", () => {
    const u = hostTable(["example.com"], ["example.com:8080"], ["*.foo.com"]);
    expect(u.findVirtualHost("example.com:8080")?.name).toBe("example.com:8080");
    expect(u.findVirtualHost("example.com:80")).toBeNull();
    expect(u.findVirtualHost("a.foo.com:80")).toBeNull();
    expect(t.findVirtualHost("example.com:80")?.name).toBe("*");
    expect(t.findVirtualHost("foo.com:80")?.name).toBe("foo.*");
  });

  it("ignore_port_in_host_matching strips the port (IPv6 literals too)", () => {
    const u = new RouteTable(
      routeConfig(
        [
          { name: "named", domains: ["example.com"], routes: [] },
          { name: "v6", domains: ["[::1]"], routes: [] },
        ],
        { ignore_port_in_host_matching: true },
      ),
    );
    expect(u.findVirtualHost("example.com:8080")?.name).toBe("named");
    expect(u.findVirtualHost("[::1]:9000")?.name).toBe("v6");
    expect(u.findVirtualHost("[::1]")?.name).toBe("v6");
  });

  it("no matching virtual host or no matching route selects nothing", () => {
    const u = hostTable(["example.com"]);
    expect(u.select("other.com", "/", noHeaders)).toBeNull();
    const v = new RouteTable(
      routeConfig([{ name: "v", domains: ["*"], routes: [to("only", { path: "/x" })] }]),
    );
    expect(v.select("h", "/y", noHeaders)).toBeNull();
    expect(v.select("h", "/x", noHeaders)?.vhost.name).toBe("v");
  });
});

describe("route matching", () => {
  it("first match wins, in order", () => {
    const sel = routesTable([
      to("ws", { prefix: "/ws" }),
      to("root", { prefix: "/" }),
      to("never", { prefix: "/ws" }),
    ]);
    expect(sel("/ws")).toBe("ws");
    expect(sel("/")).toBe("root");
  });

  it("prefix is not segment-aware and includes the query string", () => {
    const sel = routesTable([to("ws", { prefix: "/ws" }), to("q", { prefix: "/a?b=1" })]);
    expect(sel("/wsx")).toBe("ws");
    expect(sel("/ws?a=1")).toBe("ws");
    expect(sel("/ws/chat")).toBe("ws");
    expect(sel("/a?b=1&c")).toBe("q");
    expect(sel("/w")).toBeNull();
  });

  it("path is exact after stripping the query (and fragment)", () => {
    const sel = routesTable([to("p", { path: "/exact" })]);
    expect(sel("/exact")).toBe("p");
    expect(sel("/exact?x=1")).toBe("p");
    expect(sel("/exact#frag")).toBe("p");
    expect(sel("/exact/")).toBeNull();
    expect(sel("/exactly")).toBeNull();
    expect(sel("/EXACT")).toBeNull();
  });

  it("case_sensitive: false applies to prefix and path", () => {
    const sel = routesTable([
      to("prefix", { prefix: "/Api", case_sensitive: false }),
      to("path", { path: "/Login", case_sensitive: false }),
    ]);
    expect(sel("/API/users")).toBe("prefix");
    expect(sel("/api")).toBe("prefix");
    expect(sel("/lOgIn?next=/")).toBe("path");
    expect(sel("/login/x")).toBeNull();
  });

  it("regex must match the whole path without the query; case_sensitive does not apply", () => {
    const sel = routesTable([
      to("re", { safe_regex: { regex: "/users/[0-9]+" }, case_sensitive: false }),
      to("ci", { safe_regex: { regex: "(?i)/items/[a-z]+" } }),
    ]);
    expect(sel("/users/42")).toBe("re");
    expect(sel("/users/42?full=1")).toBe("re");
    expect(sel("/users/42/posts")).toBeNull();
    expect(sel("/x/users/42")).toBeNull();
    expect(sel("/USERS/42")).toBeNull();
    expect(sel("/Items/ABC")).toBe("ci");
  });

  it("headers: all must match (AND)", () => {
    const sel = routesTable([
      to("both", {
        prefix: "/",
        headers: [
          { name: "x-a", string_match: { exact: "1" } },
          { name: "X-B", string_match: { prefix: "v" } },
        ],
      }),
    ]);
    expect(sel("/", { "x-a": "1", "x-b": "v2" })).toBe("both");
    expect(sel("/", { "x-a": "1" })).toBeNull();
    expect(sel("/", { "x-a": "2", "x-b": "v2" })).toBeNull();
  });

  it("header matcher kinds", () => {
    const one = (matcher: Record<string, unknown>) =>
      routesTable([to("m", { prefix: "/", headers: [{ name: "h", ...matcher }] })]);
    const exact = one({ string_match: { exact: "Yes", ignore_case: true } });
    expect(exact("/", { h: "YES" })).toBe("m");
    expect(exact("/", { h: "no" })).toBeNull();
    expect(one({ exact_match: "a" })("/", { h: "a" })).toBe("m");
    expect(one({ exact_match: "" })("/", { h: "anything" })).toBe("m");
    expect(one({ suffix_match: "z" })("/", { h: "abz" })).toBe("m");
    expect(one({ contains_match: "mid" })("/", { h: "amidb" })).toBe("m");
    expect(one({ safe_regex_match: { regex: "[0-9]{3}" } })("/", { h: "123" })).toBe("m");
    expect(one({ safe_regex_match: { regex: "[0-9]{3}" } })("/", { h: "1234" })).toBeNull();
    const range = one({ range_match: { start: -10, end: 0 } });
    expect(range("/", { h: "-1" })).toBe("m");
    expect(range("/", { h: "0" })).toBeNull();
    expect(range("/", { h: "-10" })).toBe("m");
    expect(range("/", { h: "x" })).toBeNull();
    const present = one({});
    expect(present("/", { h: "" })).toBe("m");
    expect(present("/")).toBeNull();
  });

  it("invert_match and missing headers behave as Envoy", () => {
    const one = (matcher: Record<string, unknown>) =>
      routesTable([to("m", { prefix: "/", headers: [{ name: "h", ...matcher }] })]);
    const notExact = one({ string_match: { exact: "a" }, invert_match: true });
    expect(notExact("/", { h: "b" })).toBe("m");
    expect(notExact("/", { h: "a" })).toBeNull();
    expect(notExact("/")).toBeNull(); // a missing header fails every value matcher, inverted or not
    const absent = one({ present_match: true, invert_match: true });
    expect(absent("/")).toBe("m");
    expect(absent("/", { h: "x" })).toBeNull();
    const notPresent = one({ present_match: false });
    expect(notPresent("/")).toBe("m");
    expect(notPresent("/", { h: "x" })).toBeNull();
  });

  it("pseudo-headers are looked up like any header", () => {
    const sel = routesTable([
      to("post", { prefix: "/", headers: [{ name: ":method", string_match: { exact: "POST" } }] }),
    ]);
    expect(sel("/", { ":method": "POST" })).toBe("post");
    expect(sel("/", { ":method": "GET" })).toBeNull();
  });

  it("query_parameters use the first value of a repeated key", () => {
    const sel = routesTable([
      to("debug", { prefix: "/", query_parameters: [{ name: "debug", present_match: true }] }),
      to("fmt", { prefix: "/", query_parameters: [{ name: "fmt", string_match: { exact: "json" } }] }),
    ]);
    expect(sel("/x?debug")).toBe("debug");
    expect(sel("/x?a=1&debug=0")).toBe("debug");
    expect(sel("/x?fmt=json&fmt=xml")).toBe("fmt");
    expect(sel("/x?fmt=xml&fmt=json")).toBeNull();
    expect(sel("/x?fmt=json#debug")).toBe("fmt");
    expect(sel("/x")).toBeNull();
  });
});

describe("rewritePath", () => {
  function rewrite(match: Record<string, unknown>, action: Record<string, unknown>, path: string): string {
    const rc = routeConfig([
      { name: "v", domains: ["*"], routes: [{ match, route: { cluster: "a", ...action } }] },
    ]);
    const route = rc.virtualHosts[0]!.routes[0]!;
    return rewritePath(route.action as ForwardAction, route.match, path);
  }

  it("prefix_rewrite replaces the matched prefix, query kept", () => {
    expect(rewrite({ prefix: "/api/" }, { prefix_rewrite: "/" }, "/api/users?x=1")).toBe("/users?x=1");
    expect(rewrite({ prefix: "/api" }, { prefix_rewrite: "/v2" }, "/api")).toBe("/v2");
    expect(rewrite({ prefix: "/API", case_sensitive: false }, { prefix_rewrite: "/x" }, "/api/y")).toBe(
      "/x/y",
    );
  });

  it("prefix_rewrite on path and regex routes replaces the whole path before the query", () => {
    expect(rewrite({ path: "/old" }, { prefix_rewrite: "/new" }, "/old?q=1")).toBe("/new?q=1");
    expect(rewrite({ safe_regex: { regex: "/r/.*" } }, { prefix_rewrite: "/fixed" }, "/r/a/b?q")).toBe(
      "/fixed?q",
    );
  });

  it("regex_rewrite replaces every match in the path, with RE2 group references, query kept", () => {
    const action = {
      regex_rewrite: { pattern: { regex: "^/service/([^/]+)(/.*)$" }, substitution: "\\2/instance/\\1" },
    };
    expect(rewrite({ prefix: "/service" }, action, "/service/foo/v1/api?a=b")).toBe(
      "/v1/api/instance/foo?a=b",
    );
    const all = { regex_rewrite: { pattern: { regex: "o" }, substitution: "0" } };
    expect(rewrite({ prefix: "/" }, all, "/foo/boo?o=o")).toBe("/f00/b00?o=o");
    expect(rewrite({ prefix: "/" }, all, "/foo")).toBe("/f00");
  });

  it("returns the same path when there is no rewrite", () => {
    const p = "/same?x";
    expect(rewrite({ prefix: "/" }, {}, p)).toBe(p);
  });
});

describe("pickCluster", () => {
  it("walks weights with random % total", () => {
    const rc = routeConfig([
      {
        name: "v",
        domains: ["*"],
        routes: [
          {
            match: { prefix: "/" },
            route: {
              weighted_clusters: {
                clusters: [
                  { name: "a", weight: 3 },
                  { name: "b", weight: 1 },
                ],
              },
            },
          },
        ],
      },
    ]);
    const action = rc.virtualHosts[0]!.routes[0]!.action as ForwardAction;
    expect([0, 1, 2, 3, 4, 7].map((r) => pickCluster(action, r))).toEqual(["a", "a", "a", "b", "a", "b"]);
  });
});
