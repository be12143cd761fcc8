/**
 * HTTP/2 hop conversion: which protocol reaches the echo, what the proxies' stats say about each hop,
 * and that headers, queries and bodies survive the conversions.
 */
import { randomBytes } from "node:crypto";
import { expect } from "../harness/assert.js";
import { counts, h2cRequest, header, request, sha256 } from "../harness/client.js";
import { hasEnvoyAdmin, stat } from "../harness/stats.js";
import type { CheckContext, ConformanceTest } from "../harness/types.js";

/**
 * 6 GETs on fresh connections, measured as `protocols` (`x-echo-protocol` by instance): the echo must
 * have seen only `protocol`, from `instances` backends when given.
 */
async function expectEchoSaw({ topo, measure }: CheckContext, protocol: string, instances?: number) {
  const seen: string[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await request(topo.listener(), "/");
    expect(r.status === 200, `GET / answered ${r.status}`);
    seen.push(`${header(r, "x-echo-instance")} ${header(r, "x-echo-protocol")}`);
  }
  const p = counts(seen);
  measure("protocols", p);
  const keys = Object.keys(p);
  expect(
    (instances === undefined || keys.length === instances) && keys.every((k) => k.endsWith(` ${protocol}`)),
    `echo saw ${JSON.stringify(p)}; expected ${protocol} only${instances ? ` from ${instances} services` : ""}`,
  );
}

/** A POST /echo of `size` random bytes must come back byte for byte (sha256 both ways). */
function bodyTest(id: string, size: number, label: string, topology: string, h2c = false): ConformanceTest {
  return {
    id,
    description: `a ${label} body arrives intact and comes back intact (sha256) through ${topology}${h2c ? " from an h2c client" : ""}`,
    criterion: `a POST /echo of ${label} (${size.toLocaleString("en-US")}) random bytes${h2c ? " over h2c" : ""} answers 200 with the same ${size.toLocaleString("en-US")} bytes back (same sha256)`,
    feature: h2c ? "h2-downstream" : "mesh",
    topology,
    timeoutMs: 120_000,
    async check({ topo, measure }) {
      const body = randomBytes(size);
      const headers = { "content-type": "application/octet-stream" };
      const started = Date.now();
      const r = h2c
        ? await h2cRequest(topo.listener(), "/echo", { body, headers })
        : await request(topo.listener(), "/echo", { body, headers, timeoutMs: 110_000 });
      measure("ms", Date.now() - started);
      measure("status", r.status);
      measure("bytesBack", r.body.length);
      expect(r.status === 200, `POST /echo answered ${r.status}: ${r.body.subarray(0, 200).toString()}`);
      expect(r.body.length === size, `sent ${size} bytes, got ${r.body.length} back`);
      expect(sha256(r.body) === sha256(body), "body came back with a different sha256");
    },
  };
}

interface EchoJson {
  path?: string;
  proto?: string;
  headers?: Record<string, string[] | string>;
}

/** Values of one request header as the echo saw them (names compared case-insensitively). */
function seenHeader(json: EchoJson, name: string): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(json.headers ?? {})) {
    if (k.toLowerCase() === name) out.push(...(Array.isArray(v) ? v : [v]));
  }
  return out;
}

/** Envoy's counters of the mesh's h2c hop: the front's cluster opened HTTP/2 only, each sidecar accepted HTTP/2. */
async function expectEnvoyMeshHops({ topo, measure }: CheckContext): Promise<void> {
  const front = await stat(topo.admin("front"), "cluster.myservice.upstream_cx_http2_total");
  const frontH1 = await stat(topo.admin("front"), "cluster.myservice.upstream_cx_http1_total");
  const s1 = await stat(topo.admin("sidecar1"), "http.ingress_http.downstream_cx_http2_total");
  const s2 = await stat(topo.admin("sidecar2"), "http.ingress_http.downstream_cx_http2_total");
  measure("front.cluster.myservice.upstream_cx_http2_total", front);
  measure("front.cluster.myservice.upstream_cx_http1_total", frontH1);
  measure("sidecar1.http.ingress_http.downstream_cx_http2_total", s1);
  measure("sidecar2.http.ingress_http.downstream_cx_http2_total", s2);
  expect(front > 0, "front: cluster.myservice.upstream_cx_http2_total is 0");
  expect(frontH1 === 0, `front: ${frontH1} HTTP/1.1 upstream connections to an http2 cluster`);
  expect(s1 > 0 && s2 > 0, `sidecars counted HTTP/2 downstream connections ${s1} and ${s2}; expected > 0`);
}

export const http2Tests: ConformanceTest[] = [
  {
    id: "h2-upstream-from-h1",
    description: "h1 client -> proxy with an http2_protocol_options cluster -> echo sees HTTP/2.0",
    criterion:
      "6 HTTP/1.1 GETs each answer 200 and the echo reports x-echo-protocol HTTP/2.0 for every one; " +
      "where there is Envoy's admin, the cluster also counted an HTTP/2 connection (upstream_cx_http2_total > 0)",
    feature: "h2-upstream",
    topology: "h2-upstream",
    async check(ctx) {
      const { topo, measure } = ctx;
      await expectEchoSaw(ctx, "HTTP/2.0");
      if (!hasEnvoyAdmin(topo)) return;
      const h2 = await stat(topo.admin(), "cluster.myservice.upstream_cx_http2_total");
      measure("cluster.myservice.upstream_cx_http2_total", h2);
      expect(h2 > 0, "cluster.myservice.upstream_cx_http2_total is 0");
    },
  },
  {
    id: "h1-upstream-from-h2c",
    description: "h2c client -> proxy with an HTTP/1.1 cluster -> echo sees HTTP/1.1",
    criterion:
      "4 GETs, each on a new h2c (prior knowledge) connection, answer 200 and the echo reports " +
      "x-echo-protocol HTTP/1.1 for every one; where there is Envoy's admin, the listener also counted " +
      "an HTTP/2 downstream connection (downstream_cx_http2_total > 0)",
    feature: "h2-downstream",
    topology: "front",
    async check({ topo, measure }) {
      const seen: string[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await h2cRequest(topo.listener(), "/");
        expect(r.status === 200, `h2c GET / answered ${r.status}`);
        seen.push(`${r.headers["x-echo-instance"]} ${r.headers["x-echo-protocol"]}`);
      }
      measure("protocols", counts(seen));
      expect(
        seen.every((s) => s.endsWith(" HTTP/1.1")),
        `echo saw ${seen.join(", ")}; expected HTTP/1.1`,
      );
      if (!hasEnvoyAdmin(topo)) return;
      const h2 = await stat(topo.admin(), "http.ingress_http.downstream_cx_http2_total");
      measure("http.ingress_http.downstream_cx_http2_total", h2);
      expect(h2 > 0, "the proxy counted no HTTP/2 downstream connection");
    },
  },
  {
    id: "mesh-hop-protocols",
    description:
      "seed mesh: echo sees HTTP/1.1; the front's cluster opened HTTP/2 connections; each sidecar accepted HTTP/2",
    criterion:
      "6 HTTP/1.1 GETs through the front answer 200 from both echos (service1 and service2), each of " +
      "which reports x-echo-protocol HTTP/1.1 (the sidecar's hop); each sidecar answers 200 to an h2c " +
      "(prior knowledge) GET of its own, the echo behind it again seeing HTTP/1.1; where there is " +
      "Envoy's admin, the front's cluster opened HTTP/2 connections and no HTTP/1.1 one, and each " +
      "sidecar counted an HTTP/2 downstream connection (which protocol the front used on the hop shows " +
      "nowhere else: the echo sees only the last hop)",
    feature: "mesh",
    topology: "mesh",
    async check(ctx) {
      const { topo, measure } = ctx;
      await expectEchoSaw(ctx, "HTTP/1.1", 2);
      // Which protocol the front used on the hop shows only in Envoy's counters (the echo sees the
      // last hop); read before the sidecars' own h2c GETs below count as HTTP/2 downstream ones.
      if (hasEnvoyAdmin(topo)) await expectEnvoyMeshHops(ctx);
      // Any proxy: each sidecar takes h2c, the front's protocol on that hop.
      const sidecars = topo.topology.proxies.filter((p) => p.name !== topo.topology.entry);
      const direct: Record<string, string> = {};
      for (const p of sidecars) {
        const r = await h2cRequest(topo.listener(p.name), "/");
        direct[p.name] = `${r.status} ${r.headers["x-echo-instance"]} ${r.headers["x-echo-protocol"]}`;
      }
      measure("sidecarsOverH2c", direct);
      expect(
        sidecars.length === 2 && Object.values(direct).every((v) => /^200 \S+ HTTP\/1\.1$/.test(v)),
        `h2c GETs to the sidecars answered ${JSON.stringify(direct)}; expected 200 from an echo that saw HTTP/1.1`,
      );
    },
  },
  {
    id: "mesh-headers",
    description: "multi-value headers and header value case arrive intact both ways through h1 -> h2 -> h1",
    criterion:
      "the echo sees request x-multi as 2 values `one`, `two` in order and x-case as exactly `MiXeD Case " +
      "VALUE`; the client gets response x-resp as 2 values `one`, `two` in order and x-resp-case as exactly `MiXeD Back`",
    feature: "mesh",
    topology: "mesh",
    async check({ topo, measure }) {
      const ep = topo.listener();
      const r = await request(
        ep,
        "/?format=json&echo_header=X-Resp:one&echo_header=X-Resp:two&echo_header=X-Resp-Case:MiXeD%20Back",
        {
          headers: [
            "Host",
            `${ep.host}:${ep.port}`,
            "X-Multi",
            "one",
            "X-Multi",
            "two",
            "X-Case",
            "MiXeD Case VALUE",
          ],
        },
      );
      expect(r.status === 200, `GET answered ${r.status}: ${r.body.subarray(0, 200).toString()}`);
      const json = JSON.parse(r.body.toString("utf8")) as EchoJson;
      const multi = seenHeader(json, "x-multi");
      const mixed = seenHeader(json, "x-case");
      const back: string[] = [];
      for (let i = 0; i < r.rawHeaders.length; i += 2) {
        if (r.rawHeaders[i]?.toLowerCase() === "x-resp") back.push(r.rawHeaders[i + 1] ?? "");
      }
      measure("request.x-multi", multi);
      measure("request.x-case", mixed);
      measure("response.x-resp", back);
      measure("response.x-resp-case", header(r, "x-resp-case"));
      expect(multi.join(", ") === "one, two", `request x-multi arrived as ${JSON.stringify(multi)}`);
      expect(
        mixed.length === 1 && mixed[0] === "MiXeD Case VALUE",
        `request x-case arrived as ${JSON.stringify(mixed)}`,
      );
      expect(back.join(", ") === "one, two", `response x-resp arrived as ${JSON.stringify(back)}`);
      expect(
        header(r, "x-resp-case") === "MiXeD Back",
        `response x-resp-case arrived as ${header(r, "x-resp-case")}`,
      );
    },
  },
  {
    id: "mesh-query",
    description: "a query string with repeats, escapes and UTF-8 arrives byte for byte through the mesh",
    criterion:
      "an echo answers (not the proxy) and the path and query it saw (x-echo-path) equal the request " +
      "target sent, byte for byte (an escaped slash, repeats, `+`, `%20`, UTF-8, empty and bare parameters)",
    feature: "mesh",
    topology: "mesh",
    async check({ topo, measure }) {
      // The echo answers an unknown path with 404, still naming the path it saw.
      const target = "/q/a%2Fb?format=json&a=1&a=2&sp=%20x+y&utf=%E2%9C%93&empty=&flag&t=~!*()'";
      const r = await request(topo.listener(), target);
      expect(header(r, "x-echo-instance") !== undefined, `the proxy answered ${r.status} itself`);
      const seen = header(r, "x-echo-path");
      measure("x-echo-path", seen);
      expect(seen === target, `echo saw ${seen}, sent ${target}`);
    },
  },
  bodyTest("mesh-body-1kb", 1024, "1 KB", "mesh"),
  bodyTest("mesh-body-1mb", 1024 * 1024, "1 MB", "mesh"),
  bodyTest("mesh-body-50mb", 50 * 1024 * 1024, "50 MB", "mesh"),
  bodyTest("h2c-body-1mb", 1024 * 1024, "1 MB", "front", true),
];
