import { describe, expect, it } from "vitest";
import { extractTags, renderPrometheus } from "../../stats/prometheus.js";
import {
  parseStatsQuery,
  renderStatsJson,
  renderStatsText,
  StatsQueryError,
  selectStats,
} from "../../stats/render.js";
import { StatsStore } from "../../stats/store.js";

function sampleStore(): StatsStore {
  const store = new StatsStore();
  const cluster = store.scope("cluster.myservice.");
  cluster.counter("upstream_rq_total").inc(5);
  cluster.counter("upstream_rq_200").inc(4);
  cluster.counter("upstream_rq_503").inc(1);
  cluster.counter("upstream_rq_2xx").inc(4);
  cluster.counter("upstream_rq_5xx").inc(1);
  cluster.counter("upstream_cx_http2_total").inc(1);
  cluster.gauge("upstream_cx_active").set(1);
  cluster.counter("upstream_rq_timeout");
  store.counter("http.ingress_http.downstream_rq_total").inc(5);
  store.counter("http.ingress_http.downstream_rq_2xx").inc(4);
  store.gauge("http.ingress_http.downstream_cx_active").set(2);
  return store;
}

const all = { filter: null, usedOnly: false };

describe("/stats text and json", () => {
  it("prints every stat as `name: value`, sorted by name, counters and gauges together", () => {
    const text = renderStatsText(selectStats(sampleStore().snapshot(), all));
    const lines = text.trimEnd().split("\n");
    expect(lines).toContain("cluster.myservice.upstream_rq_total: 5");
    expect(lines).toContain("cluster.myservice.upstream_cx_active: 1");
    expect(lines).toContain("cluster.myservice.upstream_rq_timeout: 0");
    expect(lines).toEqual([...lines].sort());
    expect(lines.indexOf("cluster.myservice.upstream_cx_active: 1")).toBeLessThan(
      lines.indexOf("cluster.myservice.upstream_cx_http2_total: 1"),
    );
  });

  it("filters by a regex found anywhere in the name, and hides unused stats with usedonly", () => {
    const q = parseStatsQuery(new URLSearchParams("filter=upstream_rq_\\d&usedonly"));
    const names = selectStats(sampleStore().snapshot(), q).map((s) => s.name);
    expect(names).toEqual([
      "cluster.myservice.upstream_rq_200",
      "cluster.myservice.upstream_rq_2xx",
      "cluster.myservice.upstream_rq_503",
      "cluster.myservice.upstream_rq_5xx",
    ]);
    const used = selectStats(sampleStore().snapshot(), parseStatsQuery(new URLSearchParams("usedonly")));
    expect(used.map((s) => s.name)).not.toContain("cluster.myservice.upstream_rq_timeout");
  });

  it("rejects an invalid regex", () => {
    expect(() => parseStatsQuery(new URLSearchParams("filter=("))).toThrow(StatsQueryError);
  });

  it("renders Envoy's json shape, on one line as Envoy 1.40 does", () => {
    const body = renderStatsJson(selectStats(sampleStore().snapshot(), all));
    expect(body).not.toContain("\n");
    expect(body.startsWith('{"stats":[{"name":"cluster.myservice.upstream_cx_active","value":1},')).toBe(
      true,
    );
    const json = JSON.parse(body);
    expect(json.stats).toContainEqual({ name: "http.ingress_http.downstream_rq_total", value: 5 });
  });
});

describe("/stats/prometheus", () => {
  it("extracts Envoy's default tags", () => {
    expect(extractTags("cluster.myservice.upstream_rq_503")).toEqual({
      tagExtractedName: "cluster.upstream_rq",
      tags: [
        ["envoy_response_code", "503"],
        ["envoy_cluster_name", "myservice"],
      ],
    });
    expect(extractTags("http.ingress_http.downstream_rq_5xx")).toEqual({
      tagExtractedName: "http.downstream_rq_xx",
      tags: [
        ["envoy_response_code_class", "5"],
        ["envoy_http_conn_manager_prefix", "ingress_http"],
      ],
    });
    expect(extractTags("listener.0.0.0.0_80.downstream_cx_total")).toEqual({
      tagExtractedName: "listener.downstream_cx_total",
      tags: [["envoy_listener_address", "0.0.0.0_80"]],
    });
    expect(extractTags("server.uptime")).toEqual({ tagExtractedName: "server.uptime", tags: [] });
  });

  it("renders families with TYPE lines, counters before gauges", () => {
    const text = renderPrometheus(sampleStore().snapshot());
    expect(text).toContain(
      "# TYPE envoy_cluster_upstream_rq counter\n" +
        'envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="myservice"} 4\n' +
        'envoy_cluster_upstream_rq{envoy_response_code="503",envoy_cluster_name="myservice"} 1\n',
    );
    expect(text).toContain(
      'envoy_cluster_upstream_rq_xx{envoy_response_code_class="5",envoy_cluster_name="myservice"} 1\n',
    );
    expect(text).toContain('envoy_cluster_upstream_rq_total{envoy_cluster_name="myservice"} 5\n');
    expect(text).toContain(
      "# TYPE envoy_http_downstream_cx_active gauge\n" +
        'envoy_http_downstream_cx_active{envoy_http_conn_manager_prefix="ingress_http"} 2\n',
    );
    const lastCounter = text.lastIndexOf(" counter\n");
    const firstGauge = text.indexOf(" gauge\n");
    expect(lastCounter).toBeLessThan(firstGauge);
    // one TYPE line per family
    expect(text.match(/# TYPE envoy_cluster_upstream_rq counter/g)).toHaveLength(1);
  });

  it("prints `{}` for a stat without tags and no blank line between families, as Envoy", () => {
    const store = new StatsStore();
    store.gauge("server.live").set(1);
    store.counter("cluster.a.upstream_rq_total").inc();
    store.counter("listener.127.0.0.1_80.http.ingress.downstream_rq_5xx").inc(2);
    expect(renderPrometheus(store.snapshot())).toBe(
      "# TYPE envoy_cluster_upstream_rq_total counter\n" +
        'envoy_cluster_upstream_rq_total{envoy_cluster_name="a"} 1\n' +
        "# TYPE envoy_listener_http_downstream_rq_xx counter\n" +
        'envoy_listener_http_downstream_rq_xx{envoy_response_code_class="5",envoy_http_conn_manager_prefix="ingress",envoy_listener_address="127.0.0.1_80"} 2\n' +
        "# TYPE envoy_server_live gauge\n" +
        "envoy_server_live{} 1\n",
    );
  });

  it("tags the origin copies of the response codes as Envoy does", () => {
    expect(extractTags("cluster.s.external.upstream_rq_503")).toEqual({
      tagExtractedName: "cluster.external.upstream_rq",
      tags: [
        ["envoy_response_code", "503"],
        ["envoy_cluster_name", "s"],
      ],
    });
    expect(extractTags("cluster.s.retry.upstream_rq_5xx").tagExtractedName).toBe(
      "cluster.retry.upstream_rq_xx",
    );
  });

  it("escapes label values and sanitises names", () => {
    const store = new StatsStore();
    store.counter('cluster.we"ird\\name.upstream-cx.total').inc();
    const text = renderPrometheus(store.snapshot());
    expect(text).toContain('envoy_cluster_upstream_cx_total{envoy_cluster_name="we\\"ird\\\\name"} 1\n');
  });
});
