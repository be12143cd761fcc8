import { describe, expect, it } from "vitest";
import { circuitBreakersOf } from "../../config/cluster.js";
import { ProxyConfigError } from "../../config/errors.js";
import { loadConfigString } from "../../config/load.js";
import { StatsStore } from "../../stats/store.js";
import { createClusterManager } from "../../upstream/cluster_manager.js";
import { createClusterStats } from "../../upstream/cluster_stats.js";
import { ResourceManager } from "../../upstream/resource_manager.js";
import { staticCluster, v3Bootstrap } from "../http/helpers.js";
import { poolFactory } from "./fakes.js";

function load(extra: string) {
  return loadConfigString(
    v3Bootstrap({
      routes: "\n              - match: { prefix: / }\n                route: { cluster: c }",
      clusters: staticCluster("c", 8080, `\n    ${extra}`),
    }),
  );
}

function errorsOf(extra: string): string[] {
  try {
    load(extra);
  } catch (err) {
    expect(err).toBeInstanceOf(ProxyConfigError);
    return (err as ProxyConfigError).errors.map((e) => e.replace(/ \(line \d+\)$/, ""));
  }
  throw new Error("loaded but must be rejected");
}

describe("circuit_breakers", () => {
  it("without any, Envoy's defaults per priority: 1024 connections, pending and requests, 3 retries", () => {
    const b = load("");
    const defaults = {
      maxConnections: 1024,
      maxPendingRequests: 1024,
      maxRequests: 1024,
      maxRetries: 3,
      trackRemaining: false,
    };
    expect(circuitBreakersOf(b.clusters[0]!)).toEqual({ default: defaults, high: defaults });
  });

  it("thresholds per priority, each field defaulting to Envoy's; the other priority keeps the defaults", () => {
    const b = load(
      "circuit_breakers: { thresholds: [ { max_connections: 2, max_retries: 0 }, { priority: HIGH, max_requests: 7 } ] }",
    );
    expect(circuitBreakersOf(b.clusters[0]!)).toEqual({
      default: {
        maxConnections: 2,
        maxPendingRequests: 1024,
        maxRequests: 1024,
        maxRetries: 0,
        trackRemaining: false,
      },
      high: {
        maxConnections: 1024,
        maxPendingRequests: 1024,
        maxRequests: 7,
        maxRetries: 3,
        trackRemaining: false,
      },
    });
    expect(b.warnings ?? []).toEqual([]);
  });

  it("errors name the field; what is not applied is a warning", () => {
    expect(
      errorsOf(
        "circuit_breakers: { thresholds: [ { max_connections: 2 }, { priority: DEFAULT, max_requests: 1 } ] }",
      ),
    ).toEqual([
      "static_resources.clusters[0].circuit_breakers.thresholds[1].priority: a second DEFAULT entry",
    ]);
    expect(errorsOf("circuit_breakers: { thresholds: [ { max_requests: -1 } ] }")[0]).toMatch(
      /^static_resources\.clusters\[0\]\.circuit_breakers\.thresholds\[0\]\.max_requests: /,
    );
    const b = load(
      "circuit_breakers: { thresholds: [ { track_remaining: true } ], per_host_thresholds: [ { max_connections: 1 } ] }",
    );
    expect((b.warnings ?? []).map((w) => w.replace(/ \(line \d+\)$/, ""))).toEqual([
      "static_resources.clusters[0].circuit_breakers.per_host_thresholds: ignored (only the cluster-wide thresholds apply)",
    ]);
  });

  it("a resource's open gauge is 1 exactly while it is at its limit", () => {
    const store = new StatsStore();
    const stats = createClusterStats(store, "c");
    const rm = new ResourceManager(
      { maxConnections: 2, maxPendingRequests: 1, maxRequests: 1, maxRetries: 0, trackRemaining: false },
      stats,
    );
    const open = (g: string) => store.snapshot().gauges[`cluster.c.circuit_breakers.default.${g}`];
    expect([open("cx_open"), open("rq_pending_open"), open("rq_retry_open")]).toEqual([0, 0, 0]);
    rm.connections.inc();
    expect(rm.connections.canCreate()).toBe(true);
    rm.connections.inc();
    expect([rm.connections.canCreate(), open("cx_open")]).toEqual([false, 1]);
    rm.connections.dec();
    expect([rm.connections.canCreate(), open("cx_open")]).toEqual([true, 0]);
  });

  it("track_remaining: the remaining_* gauges are the limit minus the count, DEFAULT and HIGH (Envoy's names)", () => {
    const store = new StatsStore();
    const cm = createClusterManager(
      load(
        "circuit_breakers: { thresholds: [ { max_connections: 3, max_requests: 7, track_remaining: true }, { priority: HIGH, max_retries: 5, track_remaining: true } ] }",
      ).clusters,
      { stats: store, createPool: poolFactory().createPool },
    );
    const gauges = () =>
      Object.fromEntries(
        Object.entries(store.snapshot().gauges).filter(([name]) => name.includes(".remaining_")),
      );
    expect(gauges()).toEqual({
      "cluster.c.circuit_breakers.default.remaining_cx": 3,
      "cluster.c.circuit_breakers.default.remaining_pending": 1024,
      "cluster.c.circuit_breakers.default.remaining_rq": 7,
      "cluster.c.circuit_breakers.default.remaining_retries": 3,
      "cluster.c.circuit_breakers.high.remaining_cx": 1024,
      "cluster.c.circuit_breakers.high.remaining_pending": 1024,
      "cluster.c.circuit_breakers.high.remaining_rq": 1024,
      "cluster.c.circuit_breakers.high.remaining_retries": 5,
    });
    const rm = cm.get("c")!.resources;
    rm.connections.inc();
    rm.requests.inc();
    rm.requests.inc();
    expect(gauges()["cluster.c.circuit_breakers.default.remaining_cx"]).toBe(2);
    expect(gauges()["cluster.c.circuit_breakers.default.remaining_rq"]).toBe(5);
    rm.requests.dec();
    expect(gauges()["cluster.c.circuit_breakers.default.remaining_rq"]).toBe(6);
    void cm.close();
  });

  it("without track_remaining there is no remaining_* gauge", () => {
    const store = new StatsStore();
    const cm = createClusterManager(
      load("circuit_breakers: { thresholds: [ { max_connections: 3 } ] }").clusters,
      {
        stats: store,
        createPool: poolFactory().createPool,
      },
    );
    expect(Object.keys(store.snapshot().gauges).filter((n) => n.includes("remaining"))).toEqual([]);
    void cm.close();
  });
});
