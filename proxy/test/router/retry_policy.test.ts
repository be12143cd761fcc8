/**
 * Retry policies end to end through an in-process proxy: the attempt-count headers of the virtual
 * host, retriable_headers, envoy-ratelimited, retriable_request_headers, and the cluster's
 * max_retries (retry overflow). The decisions themselves: ./retry_state.test.ts.
 */
import { describe, expect, it } from "vitest";
import { request } from "../../../test-support/http.js";
import { useProxies } from "../http/helpers.js";

const { proxy: proxyFor, upstream: up } = useProxies();

/** One catch-all route with `policy`, and the virtual host's attempt counts on. */
const routes = (policy: string) => `- match: { prefix: "/" }
  route: { cluster: backend, retry_policy: ${policy} }
include_request_attempt_count: true
include_attempt_count_in_response: true`;

/** An upstream answering the n-th try (from 1) with `answer(n)`; records each try's attempt-count. */
async function upstream(
  answer: (n: number) => { status: number; headers?: Record<string, string | undefined> },
) {
  const seen: (string | undefined)[] = [];
  const u = await up((req, res) => {
    seen.push(req.headers["x-envoy-attempt-count"] as string | undefined);
    const a = answer(seen.length);
    res.writeHead(a.status, (a.headers ?? {}) as Record<string, string>).end(`try ${seen.length}`);
  });
  return { port: u.port, seen };
}

describe("attempt counts", () => {
  it("each try carries x-envoy-attempt-count 1, 2, 3 (a client's own is replaced); the response the last", async () => {
    const u = await upstream((n) => ({ status: n < 3 ? 503 : 200 }));
    const p = await proxyFor(routes("{ retry_on: 5xx, num_retries: 2 }"), { backend: u.port });
    const r = await request(p.port, "/", { headers: { "x-envoy-attempt-count": "9" } });
    expect(r.status).toBe(200);
    expect(r.text).toBe("try 3");
    expect(u.seen).toEqual(["1", "2", "3"]);
    expect(r.headers["x-envoy-attempt-count"]).toBe("3");
    // Envoy's order: after x-envoy-upstream-service-time.
    const names = r.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names.indexOf("x-envoy-attempt-count")).toBe(names.indexOf("x-envoy-upstream-service-time") + 1);
  });

  it("a local reply after the tries carries the count too (503 after connect failures)", async () => {
    const p = await proxyFor(routes("{ retry_on: connect-failure, num_retries: 1 }"), { backend: 1 });
    const r = await request(p.port, "/");
    expect(r.status).toBe(503);
    expect(r.headers["x-envoy-attempt-count"]).toBe("2");
  });

  it("without the virtual host's options no attempt count is sent either way", async () => {
    const u = await upstream(() => ({ status: 200 }));
    const p = await proxyFor(`- match: { prefix: "/" }\n  route: { cluster: backend }`, { backend: u.port });
    const r = await request(p.port, "/");
    expect(u.seen).toEqual([undefined]);
    expect(r.headers["x-envoy-attempt-count"]).toBeUndefined();
  });
});

describe("conditions on the response head", () => {
  it("retriable-headers: a response carrying a retriable header is retried", async () => {
    const u = await upstream((n) => ({ status: 200, headers: n === 1 ? { "x-retry-me": "yes" } : {} }));
    const policy = `{ retry_on: retriable-headers, num_retries: 2, retriable_headers: [{ name: x-retry-me, string_match: { exact: "yes" } }] }`;
    const p = await proxyFor(routes(policy), { backend: u.port });
    const r = await request(p.port, "/");
    expect(r.text).toBe("try 2");
    expect(p.stat("cluster.backend.upstream_rq_retry")).toBe(1);
    expect(p.stat("cluster.backend.retry.upstream_rq_200")).toBe(1);
    expect(p.stat("cluster.backend.upstream_rq_retry_success")).toBe(1);
  });

  it("envoy-ratelimited: a response with x-envoy-ratelimited is retried, whatever its status", async () => {
    const u = await upstream((n) => ({
      status: 429,
      headers: n === 1 ? { "x-envoy-ratelimited": "true" } : {},
    }));
    const p = await proxyFor(routes("{ retry_on: envoy-ratelimited, num_retries: 2 }"), { backend: u.port });
    const r = await request(p.port, "/");
    expect(r.status).toBe(429);
    expect(r.text).toBe("try 2");
    expect(u.seen.length).toBe(2);
  });
});

describe("retriable_request_headers", () => {
  const policy = `{ retry_on: 5xx, num_retries: 1, retriable_request_headers: [{ name: ":method", string_match: { exact: GET } }] }`;

  it("a matching request is retried", async () => {
    const u = await upstream((n) => ({ status: n === 1 ? 503 : 200 }));
    const p = await proxyFor(routes(policy), { backend: u.port });
    expect((await request(p.port, "/")).status).toBe(200);
    expect(u.seen.length).toBe(2);
  });

  it("a request matching none gets no retry (and no URX)", async () => {
    const u = await upstream(() => ({ status: 503 }));
    const p = await proxyFor(routes(policy), { backend: u.port });
    const r = await request(p.port, "/", { method: "POST", body: "x" });
    expect(r.status).toBe(503);
    expect(u.seen.length).toBe(1);
    await p.logged();
    expect(p.entries[0]?.responseFlags).toEqual([]);
    expect(p.stat("cluster.backend.upstream_rq_retry_limit_exceeded")).toBe(0);
  });
});

describe("max_retries", () => {
  it("a retry over the cluster's max_retries is not made: the response passes, flag UO, upstream_rq_retry_overflow", async () => {
    const u = await upstream(() => ({ status: 503 }));
    const p = await proxyFor(
      routes("{ retry_on: 5xx, num_retries: 3 }"),
      { backend: u.port },
      { clusterExtra: { backend: "circuit_breakers: { thresholds: [{ max_retries: 0 }] }" } },
    );
    const r = await request(p.port, "/");
    expect(r.status).toBe(503);
    expect(r.text).toBe("try 1");
    expect(r.headers["x-envoy-overloaded"]).toBeUndefined();
    expect(p.stat("cluster.backend.upstream_rq_retry_overflow")).toBe(1);
    expect(p.stat("cluster.backend.upstream_rq_retry")).toBe(0);
    await p.logged();
    expect(p.entries[0]?.responseFlags).toEqual(["UO"]);
  });

  it("the retries held are released: rq_retry_open is back to 0 after the request", async () => {
    const u = await upstream((n) => ({ status: n === 1 ? 503 : 200 }));
    const p = await proxyFor(
      routes("{ retry_on: 5xx, num_retries: 3 }"),
      { backend: u.port },
      { clusterExtra: { backend: "circuit_breakers: { thresholds: [{ max_retries: 1 }] }" } },
    );
    expect((await request(p.port, "/")).status).toBe(200);
    expect(p.stat("cluster.backend.circuit_breakers.default.rq_retry_open")).toBe(0);
    expect(p.stat("cluster.backend.upstream_rq_retry_overflow")).toBe(0);
  });
});

describe("request headers of an internal client (v3: internal_address_config)", () => {
  const INTERNAL =
    "use_remote_address: true\ninternal_address_config:\n  cidr_ranges: [{ address_prefix: 127.0.0.0, prefix_len: 8 }]";

  it("x-envoy-retry-on retriable-headers with x-envoy-retriable-header-names: retried, the headers consumed", async () => {
    const sent: string[][] = [];
    const u = await up((req, res) => {
      sent.push(Object.keys(req.headers).filter((h) => h.startsWith("x-envoy-retr")));
      res.writeHead(200, sent.length === 1 ? { "x-upstream-busy": "1" } : {}).end(`try ${sent.length}`);
    });
    const p = await proxyFor(
      `- match: { prefix: "/" }\n  route: { cluster: backend }`,
      { backend: u.port },
      {
        hcmExtra: INTERNAL,
      },
    );
    const r = await request(p.port, "/", {
      headers: {
        "x-envoy-retry-on": "retriable-headers",
        "x-envoy-retriable-header-names": "X-Upstream-Busy",
      },
    });
    expect(r.text).toBe("try 2");
    expect(sent).toEqual([[], []]);
    expect(p.stat("cluster.backend.upstream_rq_retry")).toBe(1);
  });

  it("from an external client the same headers do nothing", async () => {
    let n = 0;
    const u = await up((_req, res) => {
      n++;
      res.writeHead(200, { "x-upstream-busy": "1" }).end(`try ${n}`);
    });
    const p = await proxyFor(`- match: { prefix: "/" }\n  route: { cluster: backend }`, { backend: u.port });
    const r = await request(p.port, "/", {
      headers: {
        "x-envoy-retry-on": "retriable-headers",
        "x-envoy-retriable-header-names": "x-upstream-busy",
      },
    });
    expect(r.text).toBe("try 1");
    expect(p.stat("cluster.backend.upstream_rq_retry")).toBe(0);
  });
});
