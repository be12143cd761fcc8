import { describe, expect, it } from "vitest";
import { StatsStore } from "../../stats/store.js";
import { createClusterStats } from "../../upstream/cluster_stats.js";

describe("cluster stats", () => {
  it("uses Envoy's names under cluster.<name>.", () => {
    const store = new StatsStore();
    const stats = createClusterStats(store, "service1");
    stats.upstream_rq_total.inc();
    stats.upstream_cx_http2_total.inc(2);
    stats.membership_total.set(3);
    const snap = store.snapshot();
    expect(snap.counters["cluster.service1.upstream_rq_total"]).toBe(1);
    expect(snap.counters["cluster.service1.upstream_cx_http2_total"]).toBe(2);
    expect(snap.counters["cluster.service1.update_failure"]).toBe(0);
    expect(snap.gauges["cluster.service1.membership_total"]).toBe(3);
    expect(snap.gauges["cluster.service1.upstream_rq_active"]).toBe(0);
  });

  it("declares the retry stats the router counts, shown at 0 until used", () => {
    const store = new StatsStore();
    const stats = createClusterStats(store, "s");
    expect(store.snapshot().counters["cluster.s.upstream_rq_per_try_timeout"]).toBe(0);
    expect(store.snapshot().counters["cluster.s.retry_or_shadow_abandoned"]).toBe(0);
    stats.upstream_rq_per_try_timeout.value++;
    stats.retry_or_shadow_abandoned.value++;
    expect(store.snapshot().counters["cluster.s.upstream_rq_per_try_timeout"]).toBe(1);
    expect(store.snapshot().counters["cluster.s.retry_or_shadow_abandoned"]).toBe(1);
  });

  it("counts responses by code and by class", () => {
    const store = new StatsStore();
    const stats = createClusterStats(store, "s");
    stats.countResponse(200, false);
    stats.countResponse(200, false);
    stats.countResponse(204, false);
    stats.countResponse(503, false);
    stats.countResponse(101, false);
    const c = store.snapshot().counters;
    expect(c["cluster.s.upstream_rq_200"]).toBe(2);
    expect(c["cluster.s.upstream_rq_204"]).toBe(1);
    expect(c["cluster.s.upstream_rq_2xx"]).toBe(3);
    expect(c["cluster.s.upstream_rq_503"]).toBe(1);
    expect(c["cluster.s.upstream_rq_5xx"]).toBe(1);
    expect(c["cluster.s.upstream_rq_1xx"]).toBe(1);
    expect(c["cluster.s.upstream_rq_4xx"]).toBeUndefined();
    expect(c["cluster.s.upstream_rq_completed"]).toBe(5);
  });

  it("copies each count under external. or internal., and retried responses only under retry.", () => {
    const store = new StatsStore();
    const stats = createClusterStats(store, "s");
    stats.countResponse(200, false);
    stats.countResponse(503, true);
    stats.countRetriedResponse(503);
    const c = store.snapshot().counters;
    expect(c).toMatchObject({
      "cluster.s.upstream_rq_200": 1,
      "cluster.s.upstream_rq_503": 1,
      "cluster.s.upstream_rq_completed": 2,
      "cluster.s.external.upstream_rq_200": 1,
      "cluster.s.external.upstream_rq_2xx": 1,
      "cluster.s.external.upstream_rq_completed": 1,
      "cluster.s.internal.upstream_rq_503": 1,
      "cluster.s.internal.upstream_rq_5xx": 1,
      "cluster.s.internal.upstream_rq_completed": 1,
      "cluster.s.retry.upstream_rq_503": 1,
      "cluster.s.retry.upstream_rq_5xx": 1,
      "cluster.s.retry.upstream_rq_completed": 1,
    });
    expect(c["cluster.s.external.upstream_rq_503"]).toBeUndefined();
  });

  it("keeps counting into the store's Counter (one Counter per code)", () => {
    const store = new StatsStore();
    const stats = createClusterStats(store, "s");
    stats.countResponse(404, false);
    const counter = store.counter("cluster.s.upstream_rq_404");
    stats.countResponse(404, false);
    expect(counter.value).toBe(2);
  });

  it("ignores nonsense status codes", () => {
    const store = new StatsStore();
    const stats = createClusterStats(store, "s");
    stats.countResponse(-1, false);
    stats.countResponse(Number.NaN, false);
    stats.countResponse(1000, false);
    const names = Object.keys(store.snapshot().counters).filter((k) => /upstream_rq_[^a-z]/.test(k));
    expect(names).toEqual([]);
  });
});
