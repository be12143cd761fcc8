/**
 * Failures across the two hops: an upstream that dies mid-response, a reset before headers,
 * aborted clients (the upstream must see the close, for h1 and h2c clusters), request trailers
 * on HTTP/1.1 upstreams, and the per-host request outcome in /clusters.
 */
import http from "node:http";
import { describe, expect, it } from "vitest";
import { poll } from "../../../lib/wait.js";
import { h2 } from "../../../test-support/h2.js";
import { raw, request, statusOf, wholeResponse } from "../../../test-support/http.js";
import { reaches, useMesh } from "./harness.js";

const mesh = useMesh();

/** Both proxies are up, and the front answers through the sidecar. */
async function stillServing(): Promise<void> {
  expect(mesh.sidecar.alive).toBe(true);
  await mesh.front.expectServing();
}

describe("an upstream dying mid-response", () => {
  for (const [path, what] of [
    ["/mesh/die", "h1 upstream behind the sidecar (front -h2c-> sidecar -h1-> upstream)"],
    ["/h1/die", "h1 upstream of the front"],
    ["/h2/die", "h2c upstream of the front (RST_STREAM)"],
  ] as const) {
    it(`${what}: the client sees a truncated response; both proxies keep serving`, async () => {
      const r = await request(mesh.front.port, path, { acceptTruncated: true, timeoutMs: 20_000 });
      expect(r.status).toBe(200);
      expect(r.complete).toBe(false);
      expect(r.body.length).toBeLessThan(1024 * 1024);
      await stillServing();
    });
  }

  it("echo's reset before headers comes back as the sidecar's 503 through the front", async () => {
    const r = await request(mesh.front.port, "/?echo_reset=1", { timeoutMs: 20_000 });
    expect(r.status).toBe(503);
    expect(r.text).toMatch(/^upstream connect error or disconnect\/reset before headers\. reset reason: /);
    await stillServing();
  });
});

describe("aborted clients release their upstream", () => {
  for (const [path, proto, cluster] of [
    ["/h1/hang", "h1", "test_h1"],
    ["/h2/hang", "h2", "test_h2"],
    ["/mesh/hang", "h1", "sidecar"],
  ] as const) {
    it(`${path}: the upstream sees the close (${cluster} cluster)`, async () => {
      const { upstreams, front } = mesh;
      const seen = upstreams.hangsSeen[proto];
      const n = 5;
      await Promise.all(
        Array.from(
          { length: n },
          () =>
            new Promise<void>((resolve, reject) => {
              const req = http.get({ host: "127.0.0.1", port: front.port, path, agent: false }, (res) => {
                res.once("data", () => {
                  req.destroy();
                  resolve();
                });
              });
              req.on("error", () => {});
              req.on("close", () => resolve());
              setTimeout(() => reject(new Error("no response")), 10_000).unref();
            }),
        ),
      );
      expect(upstreams.hangsSeen[proto]).toBe(seen + n);
      expect(await reaches(() => upstreams.hanging[proto], 0)).toBe(0);
      expect(await reaches(() => front.stat(`cluster.${cluster}.upstream_rq_active`), 0)).toBe(0);
      expect(await reaches(() => front.stat("http.front.downstream_rq_active"), 0)).toBe(0);
      if (cluster === "sidecar") {
        expect(await reaches(() => mesh.sidecar.stat("cluster.test_h1.upstream_rq_active"), 0)).toBe(0);
      }
      await stillServing();
    });
  }
});

describe("request trailers", () => {
  const chunked = (path: string, more = ""): string =>
    `POST ${path} HTTP/1.1\r\nhost: e2e\r\ntransfer-encoding: chunked\r\ntrailer: x-checksum\r\n\r\n` +
    `5\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: abc123\r\n\r\n${more}`;
  const second = "GET / HTTP/1.1\r\nhost: e2e\r\n\r\n";
  const twoResponses = (s: string): boolean =>
    (s.match(/HTTP\/1\.1 \d{3}/g) ?? []).length >= 2 && s.endsWith("ok");

  it("are dropped on an HTTP/1.1 upstream; the body and the connection survive", async () => {
    const { text } = await raw(mesh.front.port, chunked("/h1/record", second.replace("/", "/h1/x")), {
      until: twoResponses,
      withinMs: 3000,
    });
    const [first, next] = text.split(/(?=HTTP\/1\.1 \d{3})/);
    expect(first).toMatch(/^HTTP\/1\.1 200/);
    expect(first).toContain('{"body":"hello world","trailers":[]}');
    expect(next).toMatch(/^HTTP\/1\.1 200/);
  });

  it("are forwarded to an h2c upstream", async () => {
    const { text } = await raw(mesh.front.port, chunked("/h2/record"), {
      until: (s) => s.includes("}"),
      withinMs: 3000,
    });
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text).toContain('{"body":"hello world","trailers":["x-checksum","abc123"]}');
  });

  it("are forwarded from an h2c client to an h2c upstream", async () => {
    const r = await h2(mesh.front.port, "/h2/record", {
      method: "POST",
      body: "hello world",
      trailers: { "x-checksum": "abc123" },
    });
    expect(r.text).toContain('{"body":"hello world","trailers":["x-checksum","abc123"]}');
  });

  it("cross h1 -> h2c -> h1 to the echo service without breaking anything", async () => {
    const { text } = await raw(mesh.front.port, chunked("/echo", second), {
      until: (s) => (s.match(/HTTP\/1\.1 200/g) ?? []).length >= 2,
      withinMs: 3000,
    });
    const [first, next] = text.split(/(?=HTTP\/1\.1 \d{3})/);
    expect(first).toMatch(/^HTTP\/1\.1 200/);
    expect(first).toContain("hello world");
    expect(next).toMatch(/^HTTP\/1\.1 200/);
    const viaSidecar = await raw(mesh.front.port, chunked("/mesh/record"), {
      until: (s) => s.includes("}"),
      withinMs: 3000,
    });
    expect(viaSidecar.text).toContain('{"body":"hello world","trailers":[]}');
    await stillServing();
  });
});

describe("per-host request outcome (/clusters)", () => {
  it("counts every request whose client hung up on the last byte as a success", async () => {
    const { front } = mesh;
    const key = `sidecar::127.0.0.1:${mesh.sidecar.port}`;
    const before = await front.clusters();
    const n = 20;
    for (let i = 0; i < n; i++) {
      // One GET, torn down the moment the last body byte is in (curl's way).
      const { text } = await raw(front.port, "GET / HTTP/1.1\r\nhost: e2e\r\n\r\n", { until: wholeResponse });
      expect(wholeResponse(text), text).toBe(true);
      expect(statusOf(text)).toBe(200);
    }
    const after = await poll(
      () => front.clusters(),
      (c) => c.get(`${key}::rq_active`) === "0",
      { withinMs: 15_000, intervalMs: 100 },
    );
    const delta = (name: string): number =>
      Number(after.get(`${key}::${name}`)) - Number(before.get(`${key}::${name}`));
    expect(delta("rq_total")).toBe(n);
    expect(delta("rq_success")).toBe(n);
    expect(delta("rq_error")).toBe(0);
  });
});
