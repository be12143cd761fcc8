/**
 * `retry_policy` and the virtual host's attempt counts in `--mode validate`'s terms: what is
 * accepted (v3 and the seed's v2 spellings), what is accepted with a warning, and misuse rejected
 * naming its YAML path.
 */
import { describe, expect, it } from "vitest";
import { loadConfigString, ProxyConfigError } from "../../config/load.js";
import type { Bootstrap, ForwardAction, RetryPolicy } from "../../config/model.js";

const HCM_URL =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER_URL = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
const PREVIOUS_HOSTS_URL =
  "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate";
const ROUTE =
  "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route";
const V2_ROUTE = ROUTE.replace("typed_config", "config");

/** One listener whose only route carries `policy` as its retry_policy; `vhost` lines on its virtual host. */
function bootstrap(policy: string, o: { v2?: boolean; vhost?: string } = {}): string {
  const filter = o.v2 ? "config:" : `typed_config:\n          "@type": ${HCM_URL}`;
  const router = o.v2 ? "config: {}" : `typed_config: { "@type": ${ROUTER_URL} }`;
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
              ${o.vhost ?? ""}
              routes:
              - match: { prefix: / }
                route: { cluster: a, retry_policy: ${policy} }
          http_filters:
          - name: envoy.filters.http.router
            ${router}
  clusters:
  - name: a
    load_assignment: { cluster_name: a, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 1 } } } }] }] }
`;
}

function errorsOf(text: string): string[] {
  try {
    loadConfigString(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ProxyConfigError);
    return (err as ProxyConfigError).errors.map((e) => e.replace(/ \(line \d+\)$/, ""));
  }
  throw new Error("loaded but must be rejected");
}

function warningsOf(b: Bootstrap): string[] {
  return (b.warnings ?? []).map((w) => w.replace(/ \(line \d+\)$/, ""));
}

function policyOf(b: Bootstrap): RetryPolicy | null {
  const action = b.listeners[0]?.hcm.routeConfig.virtualHosts[0]?.routes[0]?.action as ForwardAction;
  return action.retryPolicy;
}

describe("retry_policy", () => {
  it("accepts every HTTP retry_on condition Envoy has", () => {
    const all =
      "5xx,gateway-error,reset,reset-before-request,connect-failure,envoy-ratelimited,retriable-4xx,refused-stream,retriable-status-codes,retriable-headers";
    const b = loadConfigString(bootstrap(`{ retry_on: "${all}" }`));
    expect(warningsOf(b)).toEqual([]);
    expect([...(policyOf(b)?.retryOn ?? [])]).toEqual(all.split(","));
  });

  it("http3-post-connect-failure is accepted with a warning (no HTTP/3 upstream); gRPC conditions are errors", () => {
    const b = loadConfigString(bootstrap(`{ retry_on: "5xx,http3-post-connect-failure" }`));
    expect(warningsOf(b)).toEqual([
      `${ROUTE}.retry_policy.retry_on: "http3-post-connect-failure" never applies: echomesh-proxy has no HTTP/3 upstream`,
    ]);
    expect(errorsOf(bootstrap(`{ retry_on: "unavailable" }`))).toEqual([
      `${ROUTE}.retry_policy.retry_on: unsupported value "unavailable" (gRPC conditions are not implemented; echomesh-proxy supports 5xx, gateway-error, reset, reset-before-request, connect-failure, envoy-ratelimited, retriable-4xx, refused-stream, retriable-status-codes, retriable-headers)`,
    ]);
  });

  it("retriable_headers and retriable_request_headers are header matchers", () => {
    const b = loadConfigString(
      bootstrap(
        `{ retry_on: retriable-headers, retriable_headers: [{ name: X-Retry, string_match: { prefix: "y" } }], retriable_request_headers: [{ name: ":method", string_match: { exact: GET } }] }`,
      ),
    );
    const p = policyOf(b);
    expect(p?.retriableHeaders).toEqual([
      { name: "x-retry", match: { kind: "prefix", value: "y", ignoreCase: false }, invert: false },
    ]);
    expect(p?.retriableRequestHeaders).toEqual([
      { name: ":method", match: { kind: "exact", value: "GET", ignoreCase: false }, invert: false },
    ]);
    expect(
      errorsOf(bootstrap(`{ retry_on: 5xx, retriable_headers: [{ string_match: { exact: "y" } }] }`)),
    ).toEqual([`${ROUTE}.retry_policy.retriable_headers[0].name: required field is missing`]);
  });

  it("previous_hosts: v3 with typed_config, v2 by name; other predicates are errors", () => {
    const v3 = loadConfigString(
      bootstrap(
        `{ retry_on: 5xx, host_selection_retry_max_attempts: 4, retry_host_predicate: [{ name: envoy.retry_host_predicates.previous_hosts, typed_config: { "@type": ${PREVIOUS_HOSTS_URL} } }] }`,
      ),
    );
    expect(warningsOf(v3)).toEqual([]);
    expect(policyOf(v3)).toMatchObject({ previousHosts: true, hostSelectionRetryMaxAttempts: 4 });
    const v2 = loadConfigString(
      bootstrap(
        `{ retry_on: 5xx, retry_host_predicate: [{ name: envoy.retry_host_predicates.previous_hosts }] }`,
        {
          v2: true,
        },
      ),
    );
    expect(v2.version).toBe("v2");
    expect(policyOf(v2)).toMatchObject({ previousHosts: true, hostSelectionRetryMaxAttempts: 1 });
    expect(
      errorsOf(
        bootstrap(
          `{ retry_on: 5xx, retry_host_predicate: [{ name: envoy.retry_host_predicates.omit_canary_hosts }] }`,
          {
            v2: true,
          },
        ),
      ),
    ).toEqual([
      `${V2_ROUTE}.retry_policy.retry_host_predicate[0].name: unsupported retry host predicate "envoy.retry_host_predicates.omit_canary_hosts" (did you mean "envoy.retry_host_predicates.previous_hosts"?)`,
    ]);
    expect(errorsOf(bootstrap(`{ retry_on: 5xx, host_selection_retry_max_attempts: -1 }`))[0]).toMatch(
      `${ROUTE}.retry_policy.host_selection_retry_max_attempts:`,
    );
  });

  it("retry_priority and rate_limited_retry_back_off are accepted with a warning", () => {
    const b = loadConfigString(
      bootstrap(
        `{ retry_on: 5xx, retry_priority: { name: envoy.retry_priorities.previous_priorities }, rate_limited_retry_back_off: { reset_headers: [{ name: retry-after }] } }`,
      ),
    );
    expect(warningsOf(b)).toEqual([
      `${ROUTE}.retry_policy.retry_priority: ignored (endpoints have one priority (0), so there is no other priority to move a retry to)`,
      `${ROUTE}.retry_policy.rate_limited_retry_back_off: ignored (retries always use retry_back_off (a reset header such as retry-after is not read))`,
    ]);
  });

  it("retry_back_off: max_interval defaults to 10x base_interval; misuse names the field", () => {
    expect(
      policyOf(loadConfigString(bootstrap(`{ retry_on: 5xx, retry_back_off: { base_interval: 0.1s } }`))),
    ).toMatchObject({
      baseIntervalMs: 100,
      maxIntervalMs: 1000,
    });
    expect(
      errorsOf(bootstrap(`{ retry_on: 5xx, retry_back_off: { base_interval: 1s, max_interval: 0.5s } }`)),
    ).toEqual([`${ROUTE}.retry_policy.retry_back_off.max_interval: must not be less than base_interval`]);
  });
});

describe("the virtual host's attempt counts", () => {
  it("include_request_attempt_count and include_attempt_count_in_response default to false", () => {
    const on = loadConfigString(
      bootstrap("{ retry_on: 5xx }", {
        vhost: "include_request_attempt_count: true\n              include_attempt_count_in_response: true",
      }),
    );
    expect(on.listeners[0]?.hcm.routeConfig.virtualHosts[0]).toMatchObject({
      includeRequestAttemptCount: true,
      includeAttemptCountInResponse: true,
    });
    const off = loadConfigString(bootstrap("{ retry_on: 5xx }"));
    expect(off.listeners[0]?.hcm.routeConfig.virtualHosts[0]).toMatchObject({
      includeRequestAttemptCount: false,
      includeAttemptCountInResponse: false,
    });
    expect(
      errorsOf(bootstrap("{ retry_on: 5xx }", { vhost: "include_request_attempt_count: 3" }))[0],
    ).toMatch("virtual_hosts[0].include_request_attempt_count:");
  });
});
