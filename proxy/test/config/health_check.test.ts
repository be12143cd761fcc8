/** `health_checks` and `common_lb_config.healthy_panic_threshold`: parsed into the model, misuse named by YAML path. */
import { describe, expect, it } from "vitest";
import { loadConfigString, ProxyConfigError } from "../../config/load.js";
import type { Bootstrap, ClusterConfig } from "../../config/model.js";

const CLUSTER = "static_resources.clusters[0]";

/** A v3 bootstrap with one static cluster `a` and the given extra cluster lines (4 spaces in). */
function bootstrap(cluster: string): string {
  return `
static_resources:
  clusters:
  - name: a
    load_assignment: { cluster_name: a, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 1 } } } }] }] }
${cluster}
`;
}

function clusterOf(cluster: string): ClusterConfig {
  const b: Bootstrap = loadConfigString(bootstrap(cluster));
  const c = b.clusters[0];
  if (c === undefined) throw new Error("no cluster");
  return c;
}

function errorsOf(cluster: string): string[] {
  try {
    loadConfigString(bootstrap(cluster));
  } catch (err) {
    expect(err).toBeInstanceOf(ProxyConfigError);
    return (err as ProxyConfigError).errors.map((e) => e.replace(/ \(line \d+\)$/, ""));
  }
  throw new Error("loaded but must be rejected");
}

function warningsOf(cluster: string): string[] {
  return (loadConfigString(bootstrap(cluster)).warnings ?? []).map((w) => w.replace(/ \(line \d+\)$/, ""));
}

const HC = "    health_checks: [{ timeout: 1s, interval: 2s, unhealthy_threshold: 3, healthy_threshold: 2";

describe("health_checks", () => {
  it("an HTTP check with Envoy's defaults", () => {
    const c = clusterOf(`${HC}, http_health_check: { path: /healthz } }]`);
    expect(c.healthCheck).toEqual({
      timeoutMs: 1000,
      intervalMs: 2000,
      noTrafficIntervalMs: 60_000,
      noTrafficHealthyIntervalMs: 60_000,
      unhealthyIntervalMs: 2000,
      unhealthyEdgeIntervalMs: 2000,
      healthyEdgeIntervalMs: 2000,
      intervalJitterMs: 0,
      intervalJitterPercent: 0,
      initialJitterMs: 0,
      unhealthyThreshold: 3,
      healthyThreshold: 2,
      reuseConnection: true,
      kind: "http",
      http: {
        path: "/healthz",
        http2: false,
        host: null,
        expectedStatuses: [[200, 201]],
        retriableStatuses: [],
        headersToAdd: [],
        headersToRemove: [],
      },
    });
    expect(c.healthyPanicThreshold).toBeUndefined();
  });

  it("every field applied", () => {
    const c = clusterOf(`${HC}, no_traffic_interval: 5s, no_traffic_healthy_interval: 6s,
      unhealthy_interval: 3s, unhealthy_edge_interval: 4s, healthy_edge_interval: 0.5s,
      interval_jitter: 0.1s, interval_jitter_percent: 10, initial_jitter: 0.2s, reuse_connection: false,
      http_health_check: { path: /h, host: hc.example, expected_statuses: [{ start: 200, end: 300 }],
        retriable_statuses: [{ start: 503, end: 504 }],
        request_headers_to_add: [{ header: { key: X-Probe, value: "1" } }],
        request_headers_to_remove: [User-Agent] } }]
    common_lb_config: { healthy_panic_threshold: { value: 30 } }`);
    expect(c.healthCheck).toMatchObject({
      noTrafficIntervalMs: 5000,
      noTrafficHealthyIntervalMs: 6000,
      unhealthyIntervalMs: 3000,
      unhealthyEdgeIntervalMs: 4000,
      healthyEdgeIntervalMs: 500,
      intervalJitterMs: 100,
      intervalJitterPercent: 10,
      initialJitterMs: 200,
      reuseConnection: false,
      http: {
        path: "/h",
        host: "hc.example",
        expectedStatuses: [[200, 300]],
        retriableStatuses: [[503, 504]],
        headersToAdd: [["x-probe", "1"]],
        headersToRemove: ["user-agent"],
      },
    });
    expect(c.healthyPanicThreshold).toBe(30);
  });

  it("codec_client_type HTTP2 checks over h2c; HTTP3 is unsupported", () => {
    expect(
      clusterOf(`${HC}, http_health_check: { path: /, codec_client_type: HTTP2 } }]`).healthCheck?.http
        ?.http2,
    ).toBe(true);
    expect(errorsOf(`${HC}, http_health_check: { path: /, codec_client_type: HTTP3 } }]`)).toEqual([
      `${CLUSTER}.health_checks[0].http_health_check.codec_client_type: unsupported value "HTTP3" (echomesh-proxy supports HTTP1, HTTP2)`,
    ]);
  });

  it("a TCP check connects; gRPC and custom checks are accepted with a warning and not applied", () => {
    expect(clusterOf(`${HC}, tcp_health_check: {} }]`).healthCheck?.kind).toBe("tcp");
    const grpc = `${HC}, grpc_health_check: { service_name: s } }]`;
    expect(clusterOf(grpc).healthCheck).toBeUndefined();
    expect(warningsOf(grpc)).toEqual([
      `${CLUSTER}.health_checks[0].grpc_health_check: ignored (echomesh-proxy sends no gRPC or custom health checks; every host counts as healthy)`,
    ]);
  });

  it("rejects misuse, naming the YAML path", () => {
    expect(
      errorsOf(
        "    health_checks: [{ timeout: 0s, interval: 1s, healthy_threshold: 1, http_health_check: {} }]",
      ),
    ).toEqual([
      `${CLUSTER}.health_checks[0].timeout: must be greater than 0`,
      `${CLUSTER}.health_checks[0].unhealthy_threshold: required field is missing`,
      `${CLUSTER}.health_checks[0].http_health_check.path: required field is missing`,
    ]);
    expect(
      errorsOf(
        `${HC}, http_health_check: { path: /, expected_statuses: [{ start: 200, end: 200 }, { start: 99, end: 200 }, { start: 200, end: 601 }] } }]`,
      ),
    ).toEqual([
      `${CLUSTER}.health_checks[0].http_health_check.expected_statuses[0]: expecting start < end, but found start=200 and end=200`,
      `${CLUSTER}.health_checks[0].http_health_check.expected_statuses[1].start: expecting start >= 100, but found start=99`,
      `${CLUSTER}.health_checks[0].http_health_check.expected_statuses[2].end: expecting end <= 600, but found end=601`,
    ]);
    expect(errorsOf(`${HC}, http_health_check: { path: / }, tcp_health_check: {} }]`)).toEqual([
      `${CLUSTER}.health_checks[0].tcp_health_check: only one of http_health_check, tcp_health_check, grpc_health_check, custom_health_check may be set (also set: http_health_check)`,
    ]);
    expect(errorsOf(`${HC}, http_health_check: { path: /, pth: / } }]`)).toEqual([
      `${CLUSTER}.health_checks[0].http_health_check.pth: unknown field (did you mean "path"?)`,
    ]);
    expect(
      errorsOf(`${HC}, http_health_check: { path: / } }, ${HC.trim().slice(16)}, tcp_health_check: {} }]`),
    ).toEqual([
      `${CLUSTER}.health_checks: unsupported: more than one health check (echomesh-proxy applies one per cluster)`,
    ]);
    expect(errorsOf("    common_lb_config: { healthy_panic_threshold: { value: 101 } }")).toEqual([
      `${CLUSTER}.common_lb_config.healthy_panic_threshold.value: expected a number from 0 to 100, got 101`,
    ]);
  });
});
