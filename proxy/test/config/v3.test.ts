import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { SEEDS } from "../../../test-support/paths.js";
import { loadConfigFile, loadConfigString } from "../../config/load.js";
import type { Bootstrap, DirectResponseAction, ForwardAction, RedirectAction } from "../../config/model.js";

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

/** The model minus the dialect marker, for comparing a v2 file with its v3 rewrite. */
function meaning(b: Bootstrap) {
  const { version: _version, warnings: _warnings, ...rest } = b;
  // Listener names: the seed has none (listener_0 is generated), the v3 file spells it out.
  return rest;
}

describe("v3 configs", () => {
  it("the v3 front proxy loads to the same model as the seed's v2 file", async () => {
    const v3 = await loadConfigFile(fixture("v3/front-proxy.yaml"));
    const v2 = await loadConfigFile(`${SEEDS}/proxy-envoy.yaml`);
    expect(v3.version).toBe("v3");
    expect(v2.version).toBe("v2");
    expect(v3.warnings).toEqual([]);
    expect(meaning(v3)).toEqual(meaning(v2));
  });

  it("the same config as JSON loads to the same model (file and string)", async () => {
    const yaml = await loadConfigFile(fixture("v3/front-proxy.yaml"));
    const json = await loadConfigFile(fixture("v3/front-proxy.json"));
    expect(json).toEqual(yaml);
    const text = await readFile(fixture("v3/front-proxy.json"), "utf8");
    expect(loadConfigString(text)).toEqual(yaml);
    expect(loadConfigString(text, "json")).toEqual(yaml);
  });

  it("the v3 sidecar forwards to its local echo over HTTP/1.1 and accepts extended CONNECT", async () => {
    const b = await loadConfigFile(fixture("v3/sidecar.yaml"));
    expect(b.version).toBe("v3");
    const hcm = b.listeners[0]!.hcm;
    expect(hcm.codecType).toBe("auto");
    expect(hcm.allowConnect).toBe(true);
    const routes = hcm.routeConfig.virtualHosts[0]!.routes;
    expect((routes[0]!.action as ForwardAction).upgrades.get("websocket")).toBe(true);
    expect(b.clusters).toEqual([
      expect.objectContaining({
        name: "local_service",
        type: "static",
        protocol: "http1",
        connectTimeoutMs: 250,
        endpoints: [{ address: { address: "127.0.0.1", port: 8080 }, weight: 1, hostname: null }],
      }),
    ]);
    expect(b.admin?.accessLogPath).toBe("/dev/null");
  });

  it("maps every supported v3 field", async () => {
    const b = await loadConfigFile(fixture("v3/features.yaml"));
    expect(b.version).toBe("v3");
    expect(b.warnings).toEqual([]);
    expect(b.node).toEqual({ id: "node-1", cluster: "front-proxy" });
    expect(b.admin).toEqual({ address: { address: "127.0.0.1", port: 0 }, accessLogPath: null });
    const l = b.listeners[0]!;
    expect(l.name).toBe("main");
    expect(l.address).toEqual({ address: "127.0.0.1", port: 0 });
    const { routeConfig, upgrades, accessLogs, ...hcm } = l.hcm;
    expect(hcm).toEqual({
      statPrefix: "edge",
      codecType: "http1",
      useRemoteAddress: true,
      xffNumTrustedHops: 1,
      generateRequestId: false,
      serverName: "echomesh",
      acceptHttp10: true,
      defaultHostForHttp10: "legacy.local",
      allowConnect: true,
      http2MaxConcurrentStreams: 200,
      http2InitialStreamWindowSize: 16 * 1024 * 1024,
      http2InitialConnectionWindowSize: 1024 * 1024,
      http2MaxOutboundFrames: 10_000,
      http2MaxOutboundControlFrames: 1000,
      http2MaxConsecutiveInboundFramesWithEmptyPayload: 1,
      http2MaxInboundPriorityFramesPerStream: 100,
      http2MaxInboundWindowUpdateFramesPerDataFrameSent: 10,
      streamIdleTimeoutMs: 0,
      requestTimeoutMs: 30_000,
      delayedCloseTimeoutMs: 1000,
      idleTimeoutMs: 60_000,
      drainTimeoutMs: 2_500,
      maxRequestHeadersKb: 96,
      maxHeadersCount: 100,
      maxRequestsPerConnection: 0,
      requestHeadersTimeoutMs: 0,
    });
    expect([...upgrades]).toEqual([
      ["websocket", true],
      ["connect", false],
    ]);
    expect(accessLogs).toEqual([
      { path: "/tmp/access.log", format: "%RESPONSE_CODE% %REQ(:PATH)%\n" },
      { path: "/dev/stdout", format: null },
    ]);
    expect(routeConfig.ignorePortInHostMatching).toBe(true);
    const vh = routeConfig.virtualHosts[0]!;
    expect(vh.domains).toEqual(["api.example.com", "*.api.example.com"]);
    expect([...vh.retryPolicy!.retryOn]).toEqual(["5xx", "connect-failure"]);
    expect(vh.retryPolicy!.numRetries).toBe(3);
    const [health, users, old, rest] = vh.routes;
    expect(health!.name).toBe("exact-health");
    expect(health!.match.path).toEqual({ kind: "path", value: "/healthz" });
    expect(health!.action as DirectResponseAction).toEqual({
      kind: "direct_response",
      status: 200,
      body: "ok",
    });

    expect(users!.name).toBe("api/1");
    const um = users!.match;
    expect(um.path.kind).toBe("regex");
    if (um.path.kind === "regex") {
      expect(um.path.regex.test("/users/42")).toBe(true);
      expect(um.path.regex.test("/users/42/x")).toBe(false);
    }
    expect(um.headers.map((h) => [h.name, h.match.kind, h.invert])).toEqual([
      ["x-version", "exact", false],
      ["x-debug", "present", true],
      ["x-tier", "range", false],
    ]);
    expect(um.headers[0]!.match).toEqual({ kind: "exact", value: "v2", ignoreCase: true });
    expect(um.headers[2]!.match).toEqual({ kind: "range", start: 1, end: 10 });
    expect(um.queryParameters).toEqual([
      { name: "fmt", match: { kind: "prefix", value: "js", ignoreCase: false } },
    ]);
    const ua = users!.action as ForwardAction;
    expect(ua.clusters).toEqual([
      { name: "blue", weight: 90 },
      { name: "green", weight: 10 },
    ]);
    expect(ua.totalWeight).toBe(100);
    expect("/users/7/x".replace(ua.regexRewrite!.regex, ua.regexRewrite!.substitution)).toBe("/v2/users/7/x");
    expect(ua.hostRewriteLiteral).toBe("users.internal");
    expect(ua.timeoutMs).toBe(2_500);
    expect(ua.idleTimeoutMs).toBe(10_000);
    expect(ua.clusterNotFoundResponseCode).toBe(404);
    expect(ua.retryPolicy).toEqual({
      retryOn: new Set(["gateway-error", "retriable-status-codes", "reset"]),
      numRetries: 2,
      perTryTimeoutMs: 500,
      retriableStatusCodes: new Set([409, 429]),
      retriableHeaders: [],
      retriableRequestHeaders: [],
      previousHosts: false,
      hostSelectionRetryMaxAttempts: 1,
      baseIntervalMs: 100,
      maxIntervalMs: 1_000,
    });

    expect(old!.match).toMatchObject({ path: { kind: "prefix", value: "/Old" }, caseSensitive: false });
    expect(old!.action as RedirectAction).toEqual({
      kind: "redirect",
      httpsRedirect: false,
      schemeRedirect: null,
      hostRedirect: null,
      portRedirect: null,
      pathRedirect: "/new",
      prefixRewrite: null,
      responseCode: 308,
      stripQuery: true,
    });
    const ra = rest!.action as ForwardAction;
    expect(ra).toMatchObject({
      prefixRewrite: "/v1/",
      autoHostRewrite: true,
      timeoutMs: 0,
      idleTimeoutMs: null,
    });
    expect(ra.retryPolicy).toBeNull();

    const [blue, green] = b.clusters;
    expect(blue).toEqual({
      name: "blue",
      type: "logical_dns",
      lbPolicy: "least_request",
      connectTimeoutMs: 5_000,
      protocol: "http1",
      http2MaxConcurrentStreams: 1024,
      http2InitialStreamWindowSize: 16 * 1024 * 1024,
      http2InitialConnectionWindowSize: 24 * 1024 * 1024,
      endpoints: [
        { address: { address: "blue.internal", port: 8080 }, weight: 1, hostname: "blue.internal" },
      ],
      dnsRefreshRateMs: 1_000,
      dnsLookupFamily: "v4_only",
      respectDnsTtl: true,
      dnsResolvers: [],
      leastRequestChoiceCount: 3,
      upstreamIdleTimeoutMs: 3_000,
      maxRequestsPerConnection: 100,
    });
    expect(green).toMatchObject({
      type: "static",
      lbPolicy: "random",
      protocol: "http2",
      http2MaxConcurrentStreams: 50,
      http2InitialStreamWindowSize: 65_535,
      http2InitialConnectionWindowSize: 24 * 1024 * 1024,
      upstreamIdleTimeoutMs: 3_600_000,
      endpoints: [
        { address: { address: "127.0.0.1", port: 9001 }, weight: 3, hostname: "green-a.internal" },
        { address: { address: "::1", port: 9002 }, weight: 1, hostname: null },
      ],
    });
  });
});
