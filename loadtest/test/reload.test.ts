/** The reload bench's pieces that need no process: its flags, its configs and its report table. */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { cdsBootstrap, cdsFile, staticBootstrap } from "../reload/configs.js";
import { parseReloadArgs, type ReloadRun, reloadMarkdown } from "../reload.js";

describe("reload bench", () => {
  it("flags: 30 s and 10 reloads by default; --only names known targets only", () => {
    const o = parseReloadArgs([]);
    expect([o.durationS, o.reloads, o.connections, o.rate, o.only]).toEqual([30, 10, 10, null, []]);
    const short = parseReloadArgs([
      "--duration",
      "6",
      "--reloads",
      "2",
      "--rate",
      "200",
      "--only",
      "envoy-cds,haproxy-sf",
    ]);
    expect([short.durationS, short.reloads, short.rate, short.only]).toEqual([
      6,
      2,
      200,
      ["envoy-cds", "haproxy-sf"],
    ]);
    expect(() => parseReloadArgs(["--only", "nginx"])).toThrow("--only: no target nginx");
    expect(() => parseReloadArgs(["--reloads", "0"])).toThrow("--reloads must be a positive integer (got 0)");
  });

  it("configs: a static cluster, or a CDS file in a watched directory, over the given echoes", () => {
    const hosts = (cluster: { load_assignment: { endpoints: Array<{ lb_endpoints: unknown[] }> } }) =>
      cluster.load_assignment.endpoints[0]?.lb_endpoints.map(
        (e) =>
          (e as { endpoint: { address: { socket_address: { port_value: number } } } }).endpoint.address
            .socket_address.port_value,
      );
    const s = parse(staticBootstrap(8000, 9000, [1, 2]));
    expect(hosts(s.static_resources.clusters[0])).toEqual([1, 2]);
    const d = parse(cdsBootstrap(8000, 9000, "/x/cds.yaml", "/x"));
    expect(d.static_resources.clusters).toBeUndefined();
    expect(d.dynamic_resources.cds_config.path_config_source).toEqual({
      path: "/x/cds.yaml",
      watched_directory: { path: "/x" },
    });
    const f = parse(cdsFile(3, [2, 3]));
    expect(f.version_info).toBe("3");
    expect(f.resources[0]["@type"]).toBe("type.googleapis.com/envoy.config.cluster.v3.Cluster");
    expect(hosts(f.resources[0])).toEqual([2, 3]);
  });

  it("the report: one row per target, a failure in place of its numbers, status codes of non-2xx runs", () => {
    const run: ReloadRun = {
      target: "envoy-cds",
      requests: 1000,
      requestsPerSec: 100,
      errors: 2,
      non2xx: 2,
      socketErrors: 0,
      timeouts: 0,
      statusCodes: { "200": 998, "503": 2 },
      latencyP99Ms: 3,
      latencyMaxMs: 20,
      maxLatencyAfterReloadMs: 20,
      errorsAfterReload: 2,
      reloadAtMs: [500],
      perEcho: [250, 500, 248],
    };
    const failed = { ...run, target: "haproxy-sf", failure: "unavailable: haproxy not installed" };
    const md = reloadMarkdown(parseReloadArgs([]), "1.40.0", [run, failed], "now");
    expect(md).toContain(
      "| envoy-cds | 100 | 1000 | 2 | 2 | 0 | 0 | 3.0 | 20.0 | 20.0 | 2 | 250 / 500 / 248 |",
    );
    expect(md).toContain("| haproxy-sf | unavailable: haproxy not installed |");
    expect(md).toContain('- envoy-cds: {"200":998,"503":2}');
  });
});
