import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { freePort } from "../../../lib/net.js";
import { sleep, waitUntil } from "../../../lib/wait.js";
import { h2 } from "../../../test-support/h2.js";
import { request } from "../../../test-support/http.js";
import { CATCH_ALL, H2C_CLUSTER, startProxy, useProxies } from "../http/helpers.js";

const { proxy: proxyFor, upstream: up, serve, defer } = useProxies();

describe("local replies", () => {
  it("404 with an empty body and flag NR when no route matches", async () => {
    const p = await proxyFor(`- match: { prefix: "/api" }\n  route: { cluster: backend }`, { backend: 1 });
    const [a, b] = [await request(p.port, "/other"), await h2(p.port, "/other")];
    for (const r of [a, b]) {
      expect(r.status).toBe(404);
      expect(r.text).toBe("");
      expect(r.headers.server).toBe("envoy");
    }
    // The HTTP/1.1 codec frames the empty body; Envoy's HTTP/2 codec sends no content-length.
    expect(a.headers["content-length"]).toBe("0");
    expect(b.headers["content-length"]).toBeUndefined();
    expect(p.stat("http.ingress.no_route")).toBe(2);
    await p.logged(2);
    expect(p.entries[0]?.responseFlags).toEqual(["NR"]);
  });

  it("503 no healthy upstream when the cluster has no host", async () => {
    const p = await proxyFor(CATCH_ALL, { backend: 1 });
    const cluster = p.server.clusterManager.get("backend");
    if (cluster === undefined) throw new Error("no cluster");
    for (const h of cluster.hosts) h.healthy = false;
    const chooseHost = cluster.chooseHost.bind(cluster);
    cluster.chooseHost = () => (cluster.hosts.some((h) => h.healthy) ? chooseHost() : null);
    const r = await request(p.port, "/");
    expect(r.status).toBe(503);
    expect(r.text).toBe("no healthy upstream");
    expect(r.headers["content-type"]).toBe("text/plain");
    expect(r.headers["content-length"]).toBe("19");
    await p.logged();
    expect(p.entries[0]?.responseFlags).toEqual(["UH"]);
  });

  it("503 with the reset reason on a connect failure (flag UF), in Envoy 1.40's words", async () => {
    const p = await proxyFor(CATCH_ALL, { backend: await freePort() });
    const r = await request(p.port, "/");
    expect(r.status).toBe(503);
    expect(r.text).toBe(
      "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure",
    );
    await p.logged();
    expect(p.entries[0]?.responseFlags).toEqual(["UF"]);
    expect(p.entries[0]?.responseCodeDetails).toBe(
      "upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused}",
    );
    expect(p.stat("http.ingress.downstream_rq_5xx")).toBe(1);
  });

  it("502 on an upstream protocol error", async () => {
    const bad = net.createServer((s) => {
      s.on("error", () => {});
      s.once("data", () => s.end("NOT HTTP AT ALL\r\n\r\n"));
    });
    const u = await serve(bad);
    const p = await proxyFor(CATCH_ALL, { backend: u.port });
    const r = await request(p.port, "/");
    expect(r.status).toBe(502);
    expect(r.text).toBe(
      "upstream connect error or disconnect/reset before headers. reset reason: protocol error",
    );
  });

  it("504 upstream request timeout from the end of the request (flag UT)", async () => {
    const u = await up(() => {});
    const p = await proxyFor(`- match: { prefix: "/" }\n  route: { cluster: backend, timeout: 0.2s }`, {
      backend: u.port,
    });
    const r = await request(p.port, "/");
    expect(r.status).toBe(504);
    expect(r.text).toBe("upstream request timeout");
    expect(p.stat("cluster.backend.upstream_rq_timeout")).toBe(1);
    await p.logged();
    expect(p.entries[0]?.responseFlags).toEqual(["UT"]);
    // The upstream request was released.
    await waitUntil(
      "the upstream request is released",
      () => p.stat("cluster.backend.upstream_rq_active") === 0,
    );
  });

  it("a timeout after response headers resets the downstream", async () => {
    const u = await up((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("partial");
    });
    const p = await proxyFor(`- match: { prefix: "/" }\n  route: { cluster: backend, timeout: 0.3s }`, {
      backend: u.port,
    });
    await expect(request(p.port, "/")).rejects.toThrow();
    await expect(h2(p.port, "/")).rejects.toThrow();
  });
});

describe("retries", () => {
  const retryRoute = (policy: string, timeout = "5s") =>
    `- match: { prefix: "/" }\n  route:\n    cluster: backend\n    timeout: ${timeout}\n    retry_policy: ${policy}`;

  it("retry_on 5xx: a failure then a success gives the success, the 503 is discarded", async () => {
    let n = 0;
    const u = await up((_req, res) => {
      n++;
      if (n === 1) res.writeHead(503).end("first");
      else res.writeHead(200).end("second");
    });
    const p = await proxyFor(retryRoute("{ retry_on: 5xx, num_retries: 1 }"), { backend: u.port });
    const r = await request(p.port, "/");
    expect(r.status).toBe(200);
    expect(r.text).toBe("second");
    expect(n).toBe(2);
    expect(p.stat("cluster.backend.upstream_rq_retry")).toBe(1);
    // As Envoy: a retried response counts only under retry.; the final one as usual.
    expect(p.stat("cluster.backend.retry.upstream_rq_503")).toBe(1);
    expect(p.stat("cluster.backend.upstream_rq_503")).toBe(0);
    expect(p.stat("cluster.backend.upstream_rq_200")).toBe(1);
    expect(p.stat("cluster.backend.upstream_rq_retry_success")).toBe(1);
  });

  it("num_retries is honoured; the last response is returned with URX", async () => {
    let n = 0;
    const u = await up((_req, res) => {
      n++;
      res.writeHead(503).end(`try ${n}`);
    });
    const p = await proxyFor(retryRoute("{ retry_on: gateway-error, num_retries: 2 }"), { backend: u.port });
    const r = await request(p.port, "/");
    expect(r.status).toBe(503);
    expect(r.text).toBe("try 3");
    expect(n).toBe(3);
    await p.logged();
    expect(p.entries[0]?.responseFlags).toContain("URX");
  });

  it("retry_on connect-failure moves to another host", async () => {
    const u = await up();
    const dead = await freePort();
    const p = await startProxy(
      `
static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: hcm
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: backend, retry_policy: { retry_on: connect-failure, num_retries: 1 } }
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
  clusters:
  - name: backend
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${dead} } } }
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${u.port} } } }
`,
      {},
      { random: () => 0 },
    );
    defer(() => p.close());
    const r = await request(p.port, "/");
    expect(r.status).toBe(200);
    expect(p.stat("cluster.backend.upstream_rq_retry")).toBe(1);
    expect(p.stat("cluster.backend.upstream_cx_connect_fail")).toBe(1);
  });

  it("without a retry policy a connect failure is not retried", async () => {
    const p = await proxyFor(CATCH_ALL, { backend: await freePort() });
    expect((await request(p.port, "/")).status).toBe(503);
    expect(p.stat("cluster.backend.upstream_rq_retry")).toBe(0);
  });

  it("the route timeout (504) is not retried", async () => {
    let n = 0;
    const u = await up(() => {
      n++;
    });
    const p = await proxyFor(retryRoute("{ retry_on: 5xx, num_retries: 3 }", "0.3s"), { backend: u.port });
    const r = await request(p.port, "/");
    expect(r.status).toBe(504);
    await sleep(100);
    expect(n).toBe(1);
  });

  it("a per-try timeout is retried; the request body is sent again", async () => {
    const bodies: string[] = [];
    const u = await up((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        bodies.push(Buffer.concat(chunks).toString());
        if (bodies.length > 1) res.end("ok");
      });
    });
    const p = await proxyFor(retryRoute("{ retry_on: 5xx, num_retries: 1, per_try_timeout: 0.2s }"), {
      backend: u.port,
    });
    const r = await request(p.port, "/", { method: "POST", body: "payload" });
    expect(r.status).toBe(200);
    expect(bodies).toEqual(["payload", "payload"]);
    expect(p.stat("cluster.backend.upstream_rq_per_try_timeout")).toBe(1);
    expect(JSON.stringify(p.entries)).not.toContain("UT");
  });
});

describe("route actions", () => {
  it("direct_response and redirect", async () => {
    const p = await proxyFor(
      `- match: { path: "/health" }
  direct_response: { status: 200, body: { inline_string: "ok" } }
- match: { prefix: "/old" }
  redirect: { prefix_rewrite: "/new", response_code: FOUND }
- match: { prefix: "/" }
  redirect: { https_redirect: true }`,
      {},
    );
    const a = await request(p.port, "/health");
    expect([a.status, a.text, a.headers["content-type"]]).toEqual([200, "ok", "text/plain"]);
    const b = await request(p.port, "/old/x?q=1", { headers: { host: "example.com:8080" } });
    expect(b.status).toBe(302);
    expect(b.headers.location).toBe("http://example.com:8080/new/x?q=1");
    const c = await h2(p.port, "/p", { headers: { ":authority": "example.com" } });
    expect(c.status).toBe(301);
    expect(c.headers.location).toBe("https://example.com/p");
    // Envoy 1.40 counts a redirect as a direct response; rq_redirect is for internal redirects.
    expect(p.stat("http.ingress.rq_redirect")).toBe(0);
    expect(p.stat("http.ingress.rq_direct_response")).toBe(3);
  });

  it("weighted clusters pick by weight with the injected random", async () => {
    const blue = await up((_q, s) => s.end("blue"));
    const green = await up((_q, s) => s.end("green"));
    const routes = `- match: { prefix: "/" }
  route:
    weighted_clusters:
      clusters:
      - { name: blue, weight: 30 }
      - { name: green, weight: 70 }`;
    const ports = { blue: blue.port, green: green.port };
    let value = 0;
    const p = await proxyFor(routes, ports, { clusters: ["blue", "green"], random: () => value });
    value = 0; // 0 % 100 = 0 < 30
    expect((await request(p.port, "/")).text).toBe("blue");
    value = 0.5; // 2147483648 % 100 = 48
    expect((await request(p.port, "/")).text).toBe("green");
  });

  it("unknown cluster gives 503 with an empty body (NC)", async () => {
    const p = await proxyFor(CATCH_ALL, { backend: 1 });
    const cm = p.server.clusterManager;
    const get = cm.get.bind(cm);
    cm.get = (name) => (name === "backend" ? undefined : get(name));
    const r = await request(p.port, "/");
    expect([r.status, r.text]).toEqual([503, ""]);
    expect(p.stat("http.ingress.no_cluster")).toBe(1);
  });

  it("prefix_rewrite and host_rewrite_literal keep the originals in x-envoy-original-*", async () => {
    const u = await up();
    const p = await proxyFor(
      `- match: { prefix: "/api/" }\n  route: { cluster: backend, prefix_rewrite: "/v1/", host_rewrite_literal: internal.svc }`,
      { backend: u.port },
    );
    const seen = JSON.parse((await request(p.port, "/api/users?x=1", { headers: { host: "front" } })).text);
    expect(seen.url).toBe("/v1/users?x=1");
    expect(seen.headers.host).toBe("internal.svc");
    expect(seen.headers["x-envoy-original-path"]).toBe("/api/users?x=1");
    expect(seen.headers["x-envoy-original-host"]).toBe("front");
  });
});

describe("streaming, aborts and resets", () => {
  it("a client abort releases the upstream request", async () => {
    let upstreamClosed = false;
    const u = await up((req, res) => {
      res.writeHead(200);
      res.write("start");
      req.socket.on("close", () => {
        upstreamClosed = true;
      });
    });
    const p = await proxyFor(CATCH_ALL, { backend: u.port });
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host: "127.0.0.1", port: p.port, agent: false }, (res) => {
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", () => {});
      setTimeout(() => reject(new Error("no data")), 5000);
    });
    await waitUntil("the upstream connection closes", () => upstreamClosed);
    await waitUntil(
      "the upstream request is released",
      () => p.stat("cluster.backend.upstream_rq_active") === 0,
    );
    await p.logged();
    expect(p.entries[0]?.responseFlags).toContain("DC");
    // As Envoy 1.40 logs it (measured: `200 DC downstream_remote_disconnect`).
    expect(p.entries[0]?.responseCodeDetails).toBe("downstream_remote_disconnect");
  });

  it("an upstream dying mid-response resets the downstream (h1 and h2)", async () => {
    const u = await up((req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("only part");
      setTimeout(() => req.socket.destroy(), 50);
    });
    const p = await proxyFor(CATCH_ALL, { backend: u.port });
    await expect(request(p.port, "/")).rejects.toThrow();
    await expect(h2(p.port, "/")).rejects.toThrow();
    // As Envoy 1.40 counts it: a response cut before its end is the upstream's protocol error, the
    // upstream closed with the request on it, and (not gRPC) no rq_reset_after_downstream_response_started.
    expect(p.stat("cluster.backend.upstream_cx_protocol_error")).toBe(2);
    await waitUntil(
      "both upstream connections closed",
      () => p.stat("cluster.backend.upstream_cx_destroy") === 2,
    );
    expect(p.stat("cluster.backend.upstream_cx_destroy_remote_with_active_rq")).toBe(2);
    expect(p.stat("cluster.backend.upstream_cx_destroy_local")).toBe(0);
    expect(p.stat("http.ingress.rq_reset_after_downstream_response_started")).toBe(0);
  });

  it("streams a large body both ways with backpressure, h1 -> h2c upstream -> back", async () => {
    const h2server = http2.createServer();
    h2server.on("stream", (stream) => {
      let n = 0;
      stream.on("data", (c: Buffer) => {
        n += c.length;
      });
      stream.on("end", () => {
        stream.respond({ ":status": 200, "x-received": String(n) });
        stream.end(Buffer.alloc(4 * 1024 * 1024, 7));
      });
    });
    const u = await serve(h2server);
    const p = await proxyFor(CATCH_ALL, { backend: u.port }, { clusterExtra: { backend: H2C_CLUSTER } });
    const body = Buffer.alloc(8 * 1024 * 1024, 1);
    const r = await new Promise<{ size: number; received: string | undefined }>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: p.port, method: "POST", agent: false }, (res) => {
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
        });
        res.on("end", () => resolve({ size, received: res.headers["x-received"] as string | undefined }));
      });
      req.on("error", reject);
      req.end(body);
    });
    expect(r.size).toBe(4 * 1024 * 1024);
    expect(r.received).toBe(String(8 * 1024 * 1024));
  });
});
