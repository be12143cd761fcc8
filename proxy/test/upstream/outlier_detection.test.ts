/** Outlier detection (Envoy's DetectorImpl): detection, max_ejection_percent, un-ejection timing, back-off, stats. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { renderClustersText } from "../../admin/render.js";
import type { OutlierDetectionConfig } from "../../config/model.js";
import { OUTLIER_DETECTION_DEFAULTS } from "../../config/outlier_detection.js";
import { newHostStats } from "../../conn_pool/host_stats.js";
import { StatsStore } from "../../stats/store.js";
import { createClusterManager } from "../../upstream/cluster_manager.js";
import { createOutlierDetectionStats } from "../../upstream/cluster_stats.js";
import { HealthFlag, Host } from "../../upstream/host.js";
import { localOriginFailureOf, OutlierDetector } from "../../upstream/outlier_detection.js";
import { clusterConfig, endpoint, picks, poolFactory } from "./fakes.js";

const PREFIX = "cluster.svc.outlier_detection.";

function setup(overrides: Partial<OutlierDetectionConfig> = {}, hostCount = 2, random = () => 0) {
  const store = new StatsStore();
  const hosts = Array.from(
    { length: hostCount },
    (_, i) => new Host(`10.0.0.${i + 1}`, 80, 1, `10.0.0.${i + 1}`),
  );
  const changes: string[] = [];
  const detector = new OutlierDetector(
    {
      ...OUTLIER_DETECTION_DEFAULTS,
      intervalMs: 200,
      baseEjectionTimeMs: 1_000,
      maxEjectionPercent: 50,
      ...overrides,
    },
    createOutlierDetectionStats(store, "svc"),
    {
      onHostChange: (h) => changes.push(`${h.address} ${ejected(h) ? "out" : "in"}`),
      now: () => Date.now(),
      random,
    },
  );
  detector.setHosts(hosts);
  detector.start();
  const stat = (name: string): number => {
    const snap = store.snapshot();
    return snap.counters[PREFIX + name] ?? snap.gauges[PREFIX + name] ?? Number.NaN;
  };
  return { detector, hosts, changes, stat };
}

const ejected = (h: Host) => h.hasHealthFlag(HealthFlag.FAILED_OUTLIER_CHECK);

function respond(d: OutlierDetector, h: Host, status: number, times = 1): void {
  for (let i = 0; i < times; i++) d.putResponse(h, status);
}

let detectors: OutlierDetector[] = [];
beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
  detectors = [];
});
afterEach(() => {
  for (const d of detectors) d.close();
  vi.useRealTimers();
});

function make(...args: Parameters<typeof setup>) {
  const s = setup(...args);
  detectors.push(s.detector);
  return s;
}

describe("outlier detection: detecting", () => {
  it("ejects a host at its consecutive_5xx-th 5xx in a row, at once", () => {
    const { detector, hosts, changes, stat } = make();
    const [a, b] = hosts as [Host, Host];
    respond(detector, a, 500, 4);
    expect(ejected(a)).toBe(false);
    respond(detector, a, 500);
    expect(ejected(a)).toBe(true);
    expect(ejected(b)).toBe(false);
    expect(changes).toEqual(["10.0.0.1 out"]);
    expect(stat("ejections_active")).toBe(1);
    expect(stat("ejections_detected_consecutive_5xx")).toBe(1);
    expect(stat("ejections_enforced_consecutive_5xx")).toBe(1);
    expect(stat("ejections_enforced_total")).toBe(1);
    expect(stat("ejections_total")).toBe(1);
    expect(stat("ejections_consecutive_5xx")).toBe(1);
    expect(stat("ejections_overflow")).toBe(0);
  });

  it("a response below 500 ends the run; 4xx are not failures", () => {
    const { detector, hosts, stat } = make();
    const a = hosts[0] as Host;
    respond(detector, a, 503, 4);
    respond(detector, a, 404);
    respond(detector, a, 503, 4);
    respond(detector, a, 200);
    respond(detector, a, 500, 4);
    expect(ejected(a)).toBe(false);
    expect(stat("ejections_detected_consecutive_5xx")).toBe(0);
  });

  it("gateway failures (502-504) are detected apart, enforced only with enforcing_consecutive_gateway_failure", () => {
    const off = make({ consecutiveGatewayFailure: 3, consecutive5xx: 10 });
    respond(off.detector, off.hosts[0] as Host, 502, 3);
    expect(ejected(off.hosts[0] as Host)).toBe(false);
    expect(off.stat("ejections_detected_consecutive_gateway_failure")).toBe(1);
    expect(off.stat("ejections_enforced_consecutive_gateway_failure")).toBe(0);
    // Not enforced: the host is not ejected, so ejections_active stays 0 (no overflow either).
    expect(off.stat("ejections_active")).toBe(0);

    const on = make({
      consecutiveGatewayFailure: 3,
      consecutive5xx: 10,
      enforcingConsecutiveGatewayFailure: 100,
    });
    const a = on.hosts[0] as Host;
    respond(on.detector, a, 504, 2);
    respond(on.detector, a, 500); // a 5xx that is not a gateway failure ends the gateway run
    respond(on.detector, a, 503, 2);
    expect(ejected(a)).toBe(false);
    respond(on.detector, a, 503);
    expect(ejected(a)).toBe(true);
    expect(on.stat("ejections_enforced_consecutive_gateway_failure")).toBe(1);
    expect(on.stat("ejections_enforced_total")).toBe(1);
    // ejections_total (deprecated) counts consecutive-5xx and success-rate ejections only.
    expect(on.stat("ejections_total")).toBe(0);
  });

  it("enforcing_consecutive_5xx is a probability: 0 detects without ejecting", () => {
    const { detector, hosts, stat } = make({ enforcingConsecutive5xx: 0 });
    respond(detector, hosts[0] as Host, 500, 10);
    expect(ejected(hosts[0] as Host)).toBe(false);
    expect(stat("ejections_detected_consecutive_5xx")).toBe(2);
    expect(stat("ejections_total")).toBe(2);
    expect(stat("ejections_enforced_total")).toBe(0);
  });

  it("without split_external_local_origin_errors a failed connection counts as a 503, a timeout as a 504", () => {
    const { detector, hosts, stat } = make({ enforcingConsecutiveGatewayFailure: 100 });
    const a = hosts[0] as Host;
    for (let i = 0; i < 3; i++) detector.putLocalOriginFailure(a, "connect");
    detector.putLocalOriginFailure(a, "timeout");
    detector.putLocalOriginFailure(a, "reset");
    expect(ejected(a)).toBe(true);
    expect(stat("ejections_detected_consecutive_gateway_failure")).toBe(1);
    expect(stat("ejections_detected_consecutive_local_origin_failure")).toBe(0);
    expect(localOriginFailureOf("overflow")).toBeNull();
    expect(localOriginFailureOf("connection failure")).toBe("connect");
    expect(localOriginFailureOf("remote reset")).toBe("reset");
  });

  it("with split_external_local_origin_errors, failed connections in a row eject on their own counter", () => {
    const { detector, hosts, stat } = make({
      splitExternalLocalOriginErrors: true,
      consecutiveLocalOriginFailure: 3,
    });
    const [a, b] = hosts as [Host, Host];
    // A try that had its connection ends the run (Envoy's LocalOriginConnectSuccess) before failing.
    detector.putLocalOriginFailure(a, "connect");
    detector.putLocalOriginFailure(a, "connect");
    detector.putLocalOriginFailure(a, "timeout");
    detector.putLocalOriginFailure(a, "reset");
    expect(ejected(a)).toBe(false);
    // ... and a response head too; a 5xx from the host is not a local-origin failure.
    detector.putLocalOriginFailure(b, "connect");
    detector.putLocalOriginFailure(b, "connect");
    respond(detector, b, 503);
    detector.putLocalOriginFailure(b, "connect");
    detector.putLocalOriginFailure(b, "connect");
    expect(ejected(b)).toBe(false);
    detector.putLocalOriginFailure(b, "connect");
    expect(ejected(b)).toBe(true);
    expect(stat("ejections_enforced_consecutive_local_origin_failure")).toBe(1);
    expect(stat("ejections_detected_consecutive_5xx")).toBe(0);
  });
});

describe("outlier detection: max_ejection_percent", () => {
  it("ejects while (ejected + 1) / hosts stays within it; past it, ejections_overflow", () => {
    const { detector, hosts, stat } = make({ maxEjectionPercent: 50 });
    const [a, b] = hosts as [Host, Host];
    respond(detector, a, 500, 5);
    respond(detector, b, 500, 5);
    expect([ejected(a), ejected(b)]).toEqual([true, false]);
    expect(stat("ejections_overflow")).toBe(1);
    // Detected again (the counter restarts at each detection): another overflow per 5.
    respond(detector, b, 500, 10);
    expect(stat("ejections_overflow")).toBe(3);
    expect(stat("ejections_detected_consecutive_5xx")).toBe(4);
    expect(stat("ejections_active")).toBe(1);
  });

  it("Envoy's default 10% never ejects one host of two; always_eject_one_host does", () => {
    const none = make({ maxEjectionPercent: 10 });
    respond(none.detector, none.hosts[0] as Host, 500, 5);
    expect(ejected(none.hosts[0] as Host)).toBe(false);
    expect(none.stat("ejections_overflow")).toBe(1);
    expect(none.stat("ejections_total")).toBe(0);

    const one = make({ maxEjectionPercent: 10, alwaysEjectOneHost: true });
    const [a, b] = one.hosts as [Host, Host];
    respond(one.detector, a, 500, 5);
    respond(one.detector, b, 500, 5);
    expect([ejected(a), ejected(b)]).toEqual([true, false]);
  });

  it("rounds as Envoy does: 1 of 4 hosts is 25%, within 25", () => {
    const { detector, hosts } = make({ maxEjectionPercent: 25 }, 4);
    for (const h of hosts) respond(detector, h, 500, 5);
    expect(hosts.map(ejected)).toEqual([true, false, false, false]);
  });
});

describe("outlier detection: un-ejection", () => {
  it("brings a host back at the first interval tick base_ejection_time after its ejection", () => {
    const { detector, hosts, changes, stat } = make({ intervalMs: 200, baseEjectionTimeMs: 1_000 });
    const a = hosts[0] as Host;
    vi.advanceTimersByTime(50);
    respond(detector, a, 500, 5);
    expect(ejected(a)).toBe(true);
    vi.advanceTimersByTime(1_000); // t = 1050: ticks at 200..1000 saw less than 1 s
    expect(ejected(a)).toBe(true);
    vi.advanceTimersByTime(150); // the tick at 1200
    expect(ejected(a)).toBe(false);
    expect(changes).toEqual(["10.0.0.1 out", "10.0.0.1 in"]);
    expect(stat("ejections_active")).toBe(0);
  });

  it("an ejection again soon after lasts one more base_ejection_time each time, up to max_ejection_time", () => {
    const { detector, hosts } = make({
      intervalMs: 100,
      baseEjectionTimeMs: 1_000,
      maxEjectionTimeMs: 2_500,
    });
    const a = hosts[0] as Host;
    const ejectionLength = (): number => {
      respond(detector, a, 500, 5);
      const start = Date.now();
      for (let i = 0; i < 100 && ejected(a); i++) vi.advanceTimersByTime(100);
      return Date.now() - start;
    };
    expect(ejectionLength()).toBe(1_000);
    expect(ejectionLength()).toBe(2_000);
    expect(ejectionLength()).toBe(2_500);
    expect(ejectionLength()).toBe(2_500);
  });

  it("the back-off shrinks by one per interval the host stays in", () => {
    const { detector, hosts } = make({ intervalMs: 100, baseEjectionTimeMs: 1_000 });
    const a = hosts[0] as Host;
    const ejectionLength = (): number => {
      respond(detector, a, 500, 5);
      const start = Date.now();
      for (let i = 0; i < 100 && ejected(a); i++) vi.advanceTimersByTime(100);
      return Date.now() - start;
    };
    expect(ejectionLength()).toBe(1_000);
    expect(ejectionLength()).toBe(2_000);
    // Back-off 2 now; one tick (100 ms) after the return takes it to 1, a second to 0.
    vi.advanceTimersByTime(200);
    expect(ejectionLength()).toBe(1_000);
  });

  it("a host back in service starts its counters afresh", () => {
    const { detector, hosts } = make();
    const a = hosts[0] as Host;
    respond(detector, a, 500, 5);
    vi.advanceTimersByTime(1_000);
    expect(ejected(a)).toBe(false);
    respond(detector, a, 500, 4);
    expect(ejected(a)).toBe(false);
  });

  it("a removed host leaves the detector; an ejected one no longer counts as active", () => {
    const { detector, hosts, stat } = make({}, 3);
    const [a, b, c] = hosts as [Host, Host, Host];
    respond(detector, a, 500, 5);
    expect(stat("ejections_active")).toBe(1);
    detector.setHosts([b, c]);
    expect(stat("ejections_active")).toBe(0);
    respond(detector, a, 500, 5); // unknown host: ignored
    respond(detector, b, 500, 5);
    expect(ejected(b)).toBe(true);
  });
});

describe("outlier detection: ejections_active across detectors", () => {
  it("a closed detector (its cluster replaced by a reload) takes back only its own ejections", () => {
    const store = new StatsStore();
    const stats = createOutlierDetectionStats(store, "svc");
    const config = { ...OUTLIER_DETECTION_DEFAULTS, maxEjectionPercent: 100 };
    const opts = { onHostChange: () => undefined, now: () => Date.now(), random: () => 0 };
    const old = new OutlierDetector(config, stats, opts);
    const successor = new OutlierDetector(config, stats, opts);
    const a = new Host("10.0.0.1", 80, 1, "10.0.0.1");
    const b = new Host("10.0.0.1", 80, 1, "10.0.0.1");
    old.setHosts([a]);
    successor.setHosts([b]);
    respond(old, a, 500, 5);
    respond(successor, b, 500, 5);
    expect(stats.ejections_active.value).toBe(2);
    old.close();
    expect(stats.ejections_active.value).toBe(1);
    successor.close();
    expect(stats.ejections_active.value).toBe(0);
  });
});

describe("outlier detection: success rate and failure percentage", () => {
  /** `total` responses from `h`, `failures` of them 500s spread evenly (below 50%: never two in a row). */
  function spreadTraffic(d: OutlierDetector, h: Host, failures: number, total: number): void {
    let failed = 0;
    for (let i = 0; i < total; i++) {
      // Fail when the running share of failures falls behind: never two in a row below 50%.
      if (failed * total < failures * (i + 1)) {
        failed++;
        respond(d, h, 500);
      } else respond(d, h, 200);
    }
  }

  it("ejects a host below mean - 1.9 stdev of the last interval (Envoy's example 50/100/100/100/100)", () => {
    const { detector, hosts, stat } = make({ intervalMs: 1_000, maxEjectionPercent: 20 }, 5);
    const [bad, ...good] = hosts as [Host, ...Host[]];
    spreadTraffic(detector, bad, 50, 100);
    for (const h of good) spreadTraffic(detector, h, 0, 100);
    expect(ejected(bad)).toBe(false);
    expect(detector.successRate(bad, false)).toBe(-1);
    vi.advanceTimersByTime(1_000);
    expect(ejected(bad)).toBe(true);
    expect(good.map(ejected)).toEqual([false, false, false, false]);
    expect(detector.externalFigures).toEqual({ average: 90, ejectionThreshold: 52 });
    expect(detector.successRate(bad, false)).toBe(50);
    expect(detector.successRate(good[0] as Host, false)).toBe(100);
    expect(stat("ejections_detected_success_rate")).toBe(1);
    expect(stat("ejections_enforced_success_rate")).toBe(1);
    expect(stat("ejections_success_rate")).toBe(1);
    expect(stat("ejections_total")).toBe(1);
    expect(stat("ejections_enforced_total")).toBe(1);
    expect(stat("ejections_detected_consecutive_5xx")).toBe(0);
    // The next interval had no traffic: no figures, every host's rate -1 again.
    vi.advanceTimersByTime(1_000);
    expect(detector.externalFigures).toEqual({ average: -1, ejectionThreshold: -1 });
    expect(detector.successRate(good[0] as Host, false)).toBe(-1);
  });

  it("needs success_rate_minimum_hosts hosts with success_rate_request_volume requests", () => {
    const { detector, hosts, stat } = make({ intervalMs: 1_000, maxEjectionPercent: 20 }, 5);
    const [bad, ...good] = hosts as [Host, ...Host[]];
    spreadTraffic(detector, bad, 50, 100);
    for (const h of good) spreadTraffic(detector, h, 0, 99);
    vi.advanceTimersByTime(1_000);
    expect(ejected(bad)).toBe(false);
    expect(stat("ejections_detected_success_rate")).toBe(0);
    // 99 requests are below the volume for success rate, above failure percentage's 50.
    expect(detector.successRate(good[0] as Host, false)).toBe(100);
  });

  it("failure percentage ejects at the threshold when enforced (0 by default)", () => {
    const { detector, hosts, stat } = make(
      {
        intervalMs: 1_000,
        maxEjectionPercent: 20,
        consecutive5xx: 1_000,
        consecutiveGatewayFailure: 1_000,
        enforcingSuccessRate: 0,
        enforcingFailurePercentage: 100,
      },
      5,
    );
    const [bad, ...good] = hosts as [Host, ...Host[]];
    spreadTraffic(detector, bad, 45, 50);
    for (const h of good) spreadTraffic(detector, h, 0, 50);
    vi.advanceTimersByTime(1_000);
    expect(ejected(bad)).toBe(true);
    expect(stat("ejections_detected_failure_percentage")).toBe(1);
    expect(stat("ejections_enforced_failure_percentage")).toBe(1);
    expect(stat("ejections_detected_success_rate")).toBe(0);
    expect(stat("ejections_detected_consecutive_5xx")).toBe(0);
  });
});

describe("outlier detection in a cluster", () => {
  it("an ejected host leaves the load balancer; stats exist only for clusters with outlier_detection", async () => {
    const stats = new StatsStore();
    const { createPool } = poolFactory();
    const cm = createClusterManager(
      [
        clusterConfig({
          name: "svc",
          endpoints: [endpoint("10.0.0.1"), endpoint("10.0.0.2"), endpoint("10.0.0.3")],
          outlierDetection: { ...OUTLIER_DETECTION_DEFAULTS, maxEjectionPercent: 50 },
        }),
        clusterConfig({ name: "plain", endpoints: [endpoint("10.0.0.9")] }),
      ],
      { stats, createPool, random: () => 0 },
    );
    await cm.initialize();
    const svc = cm.get("svc")!;
    expect(cm.get("plain")!.outlierDetector).toBeNull();
    const host = svc.hosts[1] as Host;
    for (let i = 0; i < 5; i++) svc.outlierDetector?.putResponse(host, 503);
    expect(picks(svc, 4)).toEqual(["10.0.0.1", "10.0.0.3", "10.0.0.1", "10.0.0.3"]);
    const snap = stats.snapshot();
    expect(snap.gauges["cluster.svc.membership_healthy"]).toBe(2);
    expect(snap.gauges["cluster.svc.outlier_detection.ejections_active"]).toBe(1);
    expect(
      Object.keys(snap.counters).filter((k) => k.startsWith("cluster.plain.outlier_detection.")),
    ).toEqual([]);
    await cm.close();
  });
});

describe("outlier detection in /clusters", () => {
  it("a cluster with outlier_detection gets Envoy's outlier:: lines (%g), hosts their success rate", () => {
    const host = {
      address: "127.0.0.1",
      port: 9,
      hostname: "",
      weight: 1,
      healthFlags: HealthFlag.FAILED_OUTLIER_CHECK,
      draining: false,
      stats: newHostStats(),
    };
    const outlier = {
      successRateAverage: 200 / 3,
      successRateEjectionThreshold: -1,
      localOriginSuccessRateAverage: -1,
      localOriginSuccessRateEjectionThreshold: -1,
    };
    const text = renderClustersText([
      { name: "od", hosts: [{ ...host, successRate: 100 / 3, localOriginSuccessRate: -1 }], outlier },
      { name: "plain", hosts: [{ ...host, healthFlags: 0 }] },
    ]);
    expect(text.split("\n").filter((l) => l.includes("::outlier::"))).toEqual([
      "od::outlier::success_rate_average::66.6667",
      "od::outlier::success_rate_ejection_threshold::-1",
      "od::outlier::local_origin_success_rate_average::-1",
      "od::outlier::local_origin_success_rate_ejection_threshold::-1",
    ]);
    expect(text.split("\n")[1]).toBe("od::outlier::success_rate_average::66.6667");
    expect(text).toContain("od::127.0.0.1:9::success_rate::33.333333333333336\n");
    expect(text).toContain("plain::127.0.0.1:9::success_rate::-1\n");
    expect(text).toContain("od::127.0.0.1:9::health_flags::/failed_outlier_check\n");
    expect(text).toContain("plain::127.0.0.1:9::health_flags::healthy\n");
  });
});

describe("outlier detection: a passing active health check", () => {
  it("un-ejects an ejected host at once (successful_active_health_check_uneject_host, default true)", () => {
    const { detector, hosts, stat } = make();
    const [a] = hosts as [Host, Host];
    respond(detector, a, 500, 5);
    expect(ejected(a)).toBe(true);
    detector.successfulActiveHealthCheck(a);
    expect(ejected(a)).toBe(false);
    expect(stat("ejections_active")).toBe(0);
  });

  it("leaves it ejected until base_ejection_time when the field is false", () => {
    const { detector, hosts } = make({ successfulActiveHealthCheckUnejectHost: false });
    const [a] = hosts as [Host, Host];
    respond(detector, a, 500, 5);
    detector.successfulActiveHealthCheck(a);
    expect(ejected(a)).toBe(true);
    vi.advanceTimersByTime(1_200);
    expect(ejected(a)).toBe(false);
  });

  it("does nothing to a host that is not ejected", () => {
    const { detector, hosts, changes } = make();
    const [a] = hosts as [Host, Host];
    detector.successfulActiveHealthCheck(a);
    expect(ejected(a)).toBe(false);
    expect(changes).toEqual([]);
  });
});
