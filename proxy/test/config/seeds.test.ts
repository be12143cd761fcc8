import { describe, expect, it } from "vitest";
import { SEEDS } from "../../../test-support/paths.js";
import { loadConfigFile } from "../../config/load.js";
import type { Bootstrap, ForwardAction } from "../../config/model.js";

/** What the seed's YAML means, field by field. */
function expectSeedShape(b: Bootstrap): void {
  expect(b.admin).toEqual({ address: { address: "0.0.0.0", port: 8001 }, accessLogPath: "/dev/null" });
  expect(b.listeners).toHaveLength(1);
  const l = b.listeners[0]!;
  expect(l.address).toEqual({ address: "0.0.0.0", port: 80 });
  expect(l.hcm.codecType).toBe("auto");
  expect(l.hcm.statPrefix).toBe("ingress_http");
  expect(l.hcm.serverName).toBe("envoy");
  expect(l.hcm.useRemoteAddress).toBe(false);
  expect(l.hcm.generateRequestId).toBe(true);
  expect(l.hcm.acceptHttp10).toBe(false);
  expect(l.hcm.streamIdleTimeoutMs).toBe(300_000);
  expect(l.hcm.accessLogs).toEqual([]);
  const rc = l.hcm.routeConfig;
  expect(rc.name).toBe("local_route");
  expect(rc.virtualHosts).toHaveLength(1);
  const vh = rc.virtualHosts[0]!;
  expect(vh.name).toBe("backend");
  expect(vh.domains).toEqual(["*"]);
  expect(vh.routes.map((r) => r.match.path)).toEqual([
    { kind: "prefix", value: "/ws" },
    { kind: "prefix", value: "/" },
  ]);
  const [ws, root] = vh.routes.map((r) => r.action as ForwardAction);
  expect(ws!.kind).toBe("forward");
  expect(ws!.clusters).toEqual([{ name: "myservice", weight: 1 }]);
  expect([...ws!.upgrades]).toEqual([["websocket", true]]);
  expect(ws!.timeoutMs).toBe(15_000);
  expect([...root!.upgrades]).toEqual([]);
  expect(b.clusters).toHaveLength(1);
  const c = b.clusters[0]!;
  expect(c).toMatchObject({
    name: "myservice",
    type: "strict_dns",
    lbPolicy: "round_robin",
    connectTimeoutMs: 250,
    protocol: "http2",
    dnsRefreshRateMs: 5_000,
    dnsLookupFamily: "auto",
  });
  expect(c.endpoints).toEqual([
    { address: { address: "service1", port: 80 }, weight: 1, hostname: "service1" },
    { address: { address: "service2", port: 80 }, weight: 1, hostname: "service2" },
  ]);
}

describe("the seed's Envoy files", () => {
  for (const name of ["proxy-envoy.yaml", "service-envoy.yaml"]) {
    it(`${name} loads unchanged as v2`, async () => {
      const b = await loadConfigFile(`${SEEDS}/${name}`);
      expect(b.version).toBe("v2");
      expect(b.warnings).toEqual([]);
      expectSeedShape(b);
    });
  }
});
