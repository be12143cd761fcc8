/** `outlier_detection` parsing: Envoy's defaults, its fields applied, misuse rejected with YAML paths. */
import { describe, expect, it } from "vitest";
import { loadConfigString, ProxyConfigError } from "../../config/load.js";
import type { OutlierDetectionConfig } from "../../config/model.js";
import { OUTLIER_DETECTION_DEFAULTS } from "../../config/outlier_detection.js";

/** A v2 bootstrap whose one cluster carries `outlier` (a flow mapping) as its outlier_detection. */
function bootstrap(outlier: string | null): string {
  return `
static_resources:
  clusters:
  - name: a
    connect_timeout: 1s
    hosts: [{ socket_address: { address: 127.0.0.1, port_value: 1 } }]
${outlier === null ? "" : `    outlier_detection: ${outlier}`}`;
}

function parse(outlier: string | null): { config: OutlierDetectionConfig | undefined; warnings: string[] } {
  const b = loadConfigString(bootstrap(outlier));
  return {
    config: b.clusters[0]?.outlierDetection,
    warnings: (b.warnings ?? []).map((w) => w.replace(/ \(line \d+\)$/, "")),
  };
}

function errorsOf(outlier: string): string[] {
  try {
    loadConfigString(bootstrap(outlier));
  } catch (err) {
    expect(err).toBeInstanceOf(ProxyConfigError);
    return (err as ProxyConfigError).errors.map((e) => e.replace(/ \(line \d+\)$/, ""));
  }
  throw new Error("loaded but must be rejected");
}

const AT = "static_resources.clusters[0].outlier_detection";

describe("outlier_detection config", () => {
  it("absent: no detector; empty: Envoy's defaults", () => {
    expect(parse(null).config).toBeUndefined();
    const { config, warnings } = parse("{}");
    expect(config).toEqual(OUTLIER_DETECTION_DEFAULTS);
    expect(config).toMatchObject({
      consecutive5xx: 5,
      consecutiveGatewayFailure: 5,
      consecutiveLocalOriginFailure: 5,
      intervalMs: 10_000,
      baseEjectionTimeMs: 30_000,
      maxEjectionTimeMs: 300_000,
      maxEjectionPercent: 10,
      enforcingConsecutive5xx: 100,
      enforcingConsecutiveGatewayFailure: 0,
      enforcingConsecutiveLocalOriginFailure: 100,
      splitExternalLocalOriginErrors: false,
      successRateMinimumHosts: 5,
      successRateRequestVolume: 100,
      successRateStdevFactor: 1900,
      enforcingSuccessRate: 100,
      enforcingLocalOriginSuccessRate: 100,
      failurePercentageThreshold: 85,
      failurePercentageMinimumHosts: 5,
      failurePercentageRequestVolume: 50,
      enforcingFailurePercentage: 0,
      enforcingFailurePercentageLocalOrigin: 0,
    });
    expect(warnings).toEqual([]);
  });

  it("reads every applied field, in either spelling", () => {
    const { config } = parse(
      `{ consecutive_5xx: 3, consecutiveGatewayFailure: 2, consecutive_local_origin_failure: 4,
        split_external_local_origin_errors: true, interval: 0.2s, base_ejection_time: 1s,
        max_ejection_time: 5s, max_ejection_time_jitter: 0.1s, max_ejection_percent: 50,
        always_eject_one_host: true, enforcing_consecutive_5xx: 90,
        successful_active_health_check_uneject_host: false,
        enforcing_consecutive_gateway_failure: 100, enforcing_consecutive_local_origin_failure: 0,
        success_rate_minimum_hosts: 3, success_rate_request_volume: 20, success_rate_stdev_factor: 1000,
        enforcing_success_rate: 50, enforcing_local_origin_success_rate: 0, failure_percentage_threshold: 60,
        failure_percentage_minimum_hosts: 2, failure_percentage_request_volume: 10,
        enforcing_failure_percentage: 100, enforcing_failure_percentage_local_origin: 30 }`,
    );
    expect(config).toEqual({
      consecutive5xx: 3,
      consecutiveGatewayFailure: 2,
      consecutiveLocalOriginFailure: 4,
      splitExternalLocalOriginErrors: true,
      intervalMs: 200,
      baseEjectionTimeMs: 1_000,
      maxEjectionTimeMs: 5_000,
      maxEjectionTimeJitterMs: 100,
      maxEjectionPercent: 50,
      alwaysEjectOneHost: true,
      successfulActiveHealthCheckUnejectHost: false,
      enforcingConsecutive5xx: 90,
      enforcingConsecutiveGatewayFailure: 100,
      enforcingConsecutiveLocalOriginFailure: 0,
      successRateMinimumHosts: 3,
      successRateRequestVolume: 20,
      successRateStdevFactor: 1000,
      enforcingSuccessRate: 50,
      enforcingLocalOriginSuccessRate: 0,
      failurePercentageThreshold: 60,
      failurePercentageMinimumHosts: 2,
      failurePercentageRequestVolume: 10,
      enforcingFailurePercentage: 100,
      enforcingFailurePercentageLocalOrigin: 30,
    });
  });

  it("an unset max_ejection_time is 300 s, or base_ejection_time when that is longer (Envoy)", () => {
    expect(parse("{ base_ejection_time: 400s }").config?.maxEjectionTimeMs).toBe(400_000);
  });

  it("names each accepted, unapplied field in a warning", () => {
    const { warnings } = parse(
      "{ success_rate_minimum_hosts: 3, monitors: [], successful_active_health_check_uneject_host: true }",
    );
    expect(warnings).toEqual([`${AT}.monitors: ignored (no outlier detection extensions)`]);
  });

  it("rejects misuse with the YAML path", () => {
    expect(
      errorsOf(
        "{ interval: 0s, max_ejection_percent: 101, enforcing_consecutive_5xx: 200, consecutive_5xx: -1, consecutive_5xxx: 3 }",
      ),
    ).toEqual([
      `${AT}.interval: must be greater than 0`,
      `${AT}.consecutive_5xx: -1 is out of range [0, 4294967295]`,
      `${AT}.max_ejection_percent: 101 is out of range [0, 100]`,
      `${AT}.enforcing_consecutive_5xx: 200 is out of range [0, 100]`,
      `${AT}.consecutive_5xxx: unknown field (did you mean "consecutive_5xx"?)`,
    ]);
    expect(errorsOf("{ base_ejection_time: 10s, max_ejection_time: 5s }")).toEqual([
      `${AT}.max_ejection_time: cannot be smaller than base_ejection_time (Envoy refuses the cluster)`,
    ]);
    expect(errorsOf("[1]")).toEqual([`${AT}: expected a mapping, got a list`]);
  });
});
