/**
 * Failures across the two hops: an upstream that dies mid-response, a reset before headers,
 * aborted clients (the upstream must see the close, for h1 and h2c clusters), request trailers
 * on HTTP/1.1 upstreams, and the per-host request outcome in /clusters.
 */
import http from "node:http";
import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetch, getAndHangUp, rawExchange } from "./client.js";
import { get, type Mesh, settle, startMesh } from "./harness.js";

let mesh: Mesh;
beforeAll(async () => {
  mesh = await startMesh();
}, 60_000);
afterAll(async () => {
  await mesh?.close();
}, 30_000);

async function stillServing(): Promise<void> {
  expect(mesh.front.alive).toBe(true);
  expect(mesh.sidecar.alive).toBe(true);
  const r = await get(mesh.front.port, "/");
  expect(r.status).toBe(200);
}

describe("an upstream dying mid-response", () => {
  for (const [path, what] of [
    ["/mesh/die", "h1 upstream behind the sidecar (front -h2c-> sidecar -h1-> upstream)"],
    ["/h1/die", "h1 upstream of the front"],
    ["/h2/die", "h2c upstream of the front (RST_STREAM)"],
  ] as const) {
    it(`${what}: the client sees a truncated response; both proxies keep serving`, async () => {
      const r = await fetch(mesh.front.port, path);
      expect(r.status).toBe(200);
      expect(r.complete).toBe(false);
      expect(r.bytes).toBeLessThan(1024 * 1024);
      await stillServing();
    });
  }

  it("echo's reset before headers comes back as the sidecar's 503 through the front", async () => {
    const r = await fetch(mesh.front.port, "/?echo_reset=1");
    expect(r.status).toBe(503);
    expect(r.body.toString()).toMatch(
      /^upstream connect error or disconnect\/reset before headers\. reset reason: /,
    );
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
      expect(
        await settle(
          () => upstreams.hanging[proto],
          (v) => v === 0,
        ),
      ).toBe(0);
      expect(
        await settle(
          () => front.stat(`cluster.${cluster}.upstream_rq_active`),
          (v) => v === 0,
        ),
      ).toBe(0);
      expect(
        await settle(
          () => front.stat("http.front.downstream_rq_active"),
          (v) => v === 0,
        ),
      ).toBe(0);
      if (cluster === "sidecar") {
        expect(
          await settle(
            () => mesh.sidecar.stat("cluster.test_h1.upstream_rq_active"),
            (v) => v === 0,
          ),
        ).toBe(0);
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
    const { received } = await rawExchange(
      mesh.front.port,
      chunked("/h1/record", second.replace("/", "/h1/x")),
      {
        until: twoResponses,
      },
    );
    const [first, next] = received.split(/(?=HTTP\/1\.1 \d{3})/);
    expect(first).toMatch(/^HTTP\/1\.1 200/);
    expect(first).toContain('{"body":"hello world","trailers":[]}');
    expect(next).toMatch(/^HTTP\/1\.1 200/);
  });

  it("are forwarded to an h2c upstream", async () => {
    const { received } = await rawExchange(mesh.front.port, chunked("/h2/record"), {
      until: (s) => s.includes("}"),
    });
    expect(received).toMatch(/^HTTP\/1\.1 200/);
    expect(received).toContain('{"body":"hello world","trailers":["x-checksum","abc123"]}');
  });

  it("are forwarded from an h2c client to an h2c upstream", async () => {
    const session = http2.connect(`http://127.0.0.1:${mesh.front.port}`);
    session.on("error", () => {});
    try {
      const received = await new Promise<string>((resolve, reject) => {
        const req = session.request({ ":method": "POST", ":path": "/h2/record" }, { waitForTrailers: true });
        req.on("wantTrailers", () => req.sendTrailers({ "x-checksum": "abc123" }));
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (c: string) => {
          body += c;
        });
        req.on("end", () => resolve(body));
        req.on("error", reject);
        req.end("hello world");
      });
      expect(received).toContain('{"body":"hello world","trailers":["x-checksum","abc123"]}');
    } finally {
      session.close();
    }
  });

  it("cross h1 -> h2c -> h1 to the echo service without breaking anything", async () => {
    const { received } = await rawExchange(mesh.front.port, chunked("/echo", second), {
      until: (s) => (s.match(/HTTP\/1\.1 200/g) ?? []).length >= 2,
    });
    const [first, next] = received.split(/(?=HTTP\/1\.1 \d{3})/);
    expect(first).toMatch(/^HTTP\/1\.1 200/);
    expect(first).toContain("hello world");
    expect(next).toMatch(/^HTTP\/1\.1 200/);
    const viaSidecar = await rawExchange(mesh.front.port, chunked("/mesh/record"), {
      until: (s) => s.includes("}"),
    });
    expect(viaSidecar.received).toContain('{"body":"hello world","trailers":[]}');
    await stillServing();
  });
});

describe("per-host request outcome (/clusters)", () => {
  it("counts every request whose client hung up on the last byte as a success", async () => {
    const { front } = mesh;
    const key = `sidecar::127.0.0.1:${mesh.sidecar.port}`;
    const before = await front.clusters();
    const n = 20;
    for (let i = 0; i < n; i++) expect(await getAndHangUp(front.port, "/")).toBe(200);
    const after = await settle(
      () => front.clusters(),
      (c) => c.get(`${key}::rq_active`) === "0",
    );
    const delta = (name: string): number =>
      Number(after.get(`${key}::${name}`)) - Number(before.get(`${key}::${name}`));
    expect(delta("rq_total")).toBe(n);
    expect(delta("rq_success")).toBe(n);
    expect(delta("rq_error")).toBe(0);
  });
});
