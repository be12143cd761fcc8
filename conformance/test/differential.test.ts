/**
 * The differential harness without Envoy: framing, normalisation and comparison, the known-differences
 * table and its mirror in docs/ENVOY-DIFFERENCES.md, and the corpus' shape.
 */
import { readFileSync } from "node:fs";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { fromRoot } from "../../lib/paths.js";
import { allCases, PENDING, pendingCases } from "../differential/cases/index.js";
import { send } from "../differential/client.js";
import { compare, fields, glob } from "../differential/compare.js";
import { type PortToken, render } from "../differential/config.js";
import { chunkedEnd, decodeChunked, RequestSplitter } from "../differential/http1.js";
import { KNOWN } from "../differential/known.js";
import { exchanges, groupByConfig, listedBy } from "../differential/run.js";
import { canonical, deltas, isExtra, STAT_NAMES } from "../differential/stats.js";
import type { Observation, UpstreamRequest } from "../differential/types.js";
import { h1Request } from "../differential/upstreams.js";

function observation(over: Partial<Observation> = {}): Observation {
  return {
    responses: [
      {
        status: 200,
        interim: [],
        headers: [
          ["content-length", "2"],
          ["date", "Mon, 30 Nov 2026 22:00:00 GMT"],
          ["x-envoy-upstream-service-time", "3"],
        ],
        body: "ok",
        trailers: [],
      },
    ],
    error: "",
    closed: false,
    websocket: "",
    upstream: [],
    stats: new Map(),
    ...over,
  };
}

describe("HTTP/1.1 framing", () => {
  it("finds the end of a chunked body, trailers included, and decodes it", () => {
    const body = "5\r\nhello\r\n0\r\nx-t: 1\r\n\r\n";
    expect(chunkedEnd(`${body}NEXT`)).toBe(body.length);
    expect(chunkedEnd("5\r\nhel")).toBe(-1);
    expect(chunkedEnd("0\r\n\r\n")).toBe(5);
    expect(decodeChunked(body)).toEqual({ data: "hello", trailers: [["x-t", "1"]] });
  });

  it("splits requests off a byte stream as they were sent, and stops at an upgrade", () => {
    const done: UpstreamRequest[] = [];
    const splitter = new RequestSplitter<UpstreamRequest>(
      (head) => h1Request("raw", head),
      (r) => done.push(r),
    );
    splitter.push(Buffer.from("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nab"));
    expect(done).toHaveLength(0);
    splitter.push(Buffer.from("cGET /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n"));
    splitter.push(Buffer.from("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n\x81\x85garbage"));
    expect(done.map((r) => [r.line, r.body])).toEqual([
      ["POST /a HTTP/1.1", "abc"],
      ["GET /b HTTP/1.1", "1\r\nz\r\n0\r\n\r\n"],
      ["GET /ws HTTP/1.1", ""],
    ]);
    expect(done[0]?.headers).toEqual([
      ["Host", "x"],
      ["Content-Length", "3"],
    ]);
  });
});

describe("comparison", () => {
  it("normalises only date, generated request ids and the service time", () => {
    const sent = new Set(["kept-id"]);
    const f = fields(
      observation({
        upstream: [
          {
            upstream: "raw",
            protocol: "HTTP/1.1",
            line: "GET / HTTP/1.1",
            headers: [
              ["x-request-id", "5f0b7c8e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"],
              ["x-request-id", "kept-id"],
              ["X-Other", "Mon, 30 Nov 2026"],
            ],
            body: "",
            trailers: [],
            complete: true,
          },
        ],
      }),
      sent,
    );
    expect(f.get("response.header.date")).toBe("<date>");
    expect(f.get("response.header.x-envoy-upstream-service-time")).toBe("<ms>");
    expect(f.get("upstream[0].header.x-request-id")).toBe("<generated> | kept-id");
    expect(f.get("upstream[0].header.x-other")).toBe("Mon, 30 Nov 2026");
    expect(f.get("upstream[0].names")).toBe("x-request-id, x-request-id, X-Other");
  });

  it("reports every differing field, absent headers as <absent> and absent stats as 0", () => {
    const a = observation({ stats: new Map([["http.ingress.downstream_rq_2xx", 1]]) });
    const b = observation({ closed: true });
    const first = b.responses[0];
    if (first !== undefined) first.headers = [...first.headers, ["Connection", "keep-alive"]];
    const diffs = compare(a, b, new Set());
    expect(diffs).toEqual([
      {
        field: "response.names",
        envoy: "content-length, date, x-envoy-upstream-service-time",
        echomesh: "content-length, date, x-envoy-upstream-service-time, Connection",
      },
      { field: "closed", envoy: "false", echomesh: "true" },
      { field: "stat.http.ingress.downstream_rq_2xx", envoy: "1", echomesh: "0" },
      { field: "response.header.connection", envoy: "<absent>", echomesh: "keep-alive" },
    ]);
    expect(compare(a, a, new Set())).toEqual([]);
  });

  it("compares an upstream body by framing and data, not by chunk boundaries", () => {
    const up = (body: string, headers: Array<[string, string]>): UpstreamRequest => ({
      upstream: "raw",
      protocol: "HTTP/1.1",
      line: "POST / HTTP/1.1",
      headers,
      body,
      trailers: [],
      complete: true,
    });
    const chunked: Array<[string, string]> = [["transfer-encoding", "chunked"]];
    const one = observation({ upstream: [up("b\r\nhello world\r\n0\r\n\r\n", chunked)] });
    const two = observation({ upstream: [up("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", chunked)] });
    const length = observation({ upstream: [up("hello world", [["content-length", "11"]])] });
    expect(compare(one, two, new Set())).toEqual([]);
    expect(compare(one, length, new Set()).map((d) => [d.field, d.envoy, d.echomesh])).toEqual([
      ["upstream[0].names", "transfer-encoding", "content-length"],
      ["upstream[0].header.transfer-encoding", "chunked", "<absent>"],
      ["upstream[0].framing", "chunked", "content-length 11"],
      ["upstream[0].header.content-length", "<absent>", "11"],
    ]);
  });

  it("a start failure is the only field compared", () => {
    const failed = observation({ start: "did not start: bad config" });
    expect([...fields(failed, new Set()).keys()]).toEqual(["start"]);
    expect(compare(observation(), failed, new Set())).toEqual([
      { field: "start", envoy: "started", echomesh: "did not start: bad config" },
    ]);
  });

  it("known entries excuse their cases' fields only (globs)", () => {
    expect(glob("upstream[*].header.connection").test("upstream[12].header.connection")).toBe(true);
    expect(glob("stat.cluster.*.upstream_rq_5xx").test("stat.cluster.raw.upstream_rq_503")).toBe(false);
    const known = [{ title: "t", cases: ["te-*"], fields: ["upstream[*].names"], reason: "r" }];
    const d = { field: "upstream[0].names", envoy: "a", echomesh: "b" };
    expect(listedBy("te-gzip", d, known)?.title).toBe("t");
    expect(listedBy("hop-by-hop-request", d, known)).toBeNull();
    expect(listedBy("te-gzip", { ...d, field: "status" }, known)).toBeNull();
  });
});

describe("cases of several exchanges, extra stats, /clusters lines and health checks", () => {
  it("sends a list of exchanges `repeat` times, in order", () => {
    const a = { kind: "h1" as const, send: "A" };
    const b = { kind: "h1" as const, send: "B" };
    const c = { id: "x", description: "", config: {} };
    expect(exchanges({ ...c, exchange: a }).map((e) => e.kind === "h1" && e.send)).toEqual(["A"]);
    expect(exchanges({ ...c, exchange: [a, b], repeat: 2 }).map((e) => e.kind === "h1" && e.send)).toEqual([
      "A",
      "B",
      "A",
      "B",
    ]);
  });

  it("names the third and later responses r2., r3. and compares /clusters lines and the health check", () => {
    const one = observation().responses[0];
    if (one === undefined) throw new Error("no response");
    const hc: UpstreamRequest = {
      upstream: "raw",
      protocol: "HTTP/1.1",
      line: "GET /healthz HTTP/1.1",
      headers: [["user-agent", "Envoy/HC"]],
      body: "",
      trailers: [],
      complete: true,
    };
    const o = observation({
      responses: [one, one, { ...one, status: 503 }],
      clusters: new Map([["raw::0::health_flags", "/failed_outlier_check"]]),
      healthcheck: hc,
    });
    const f = fields(o, new Set());
    expect([f.get("status"), f.get("second.status"), f.get("r2.status")]).toEqual(["200", "200", "503"]);
    expect(f.get("clusters.raw::0::health_flags")).toBe("/failed_outlier_check");
    expect(f.get("healthcheck.header.user-agent")).toBe("Envoy/HC");
    const healthy = observation({
      responses: [one, one, { ...one, status: 503 }],
      clusters: new Map([["raw::0::health_flags", "healthy"]]),
    });
    expect(compare(o, healthy, new Set()).map((d) => d.field)).toEqual([
      "clusters.raw::0::health_flags",
      "healthcheck.via",
      "healthcheck.line",
      "healthcheck.names",
      "healthcheck.header.user-agent",
      "healthcheck.framing",
      "healthcheck.body",
      "healthcheck.trailers",
      "healthcheck.complete",
    ]);
  });

  it("a case's extra stats: exact names or prefixes ending in `.`, their deltas beside the common ones", () => {
    const extra = ["cluster.raw.outlier_detection.", "cluster.raw.lb_healthy_panic"];
    expect(isExtra("cluster.raw.outlier_detection.ejections_active", extra)).toBe(true);
    expect(isExtra("cluster.raw.lb_healthy_panic_x", extra)).toBe(false);
    const before = new Map([["cluster.raw.upstream_rq_total", 1]]);
    const after = new Map([
      ["cluster.raw.upstream_rq_total", 4],
      ["cluster.raw.outlier_detection.ejections_active", 1],
      ["cluster.raw.health_check.attempt", 9],
    ]);
    expect([...deltas(before, after, extra)]).toEqual([
      ["cluster.raw.upstream_rq_total", 3],
      ["cluster.raw.outlier_detection.ejections_active", 1],
    ]);
  });
});

describe("the differential client", () => {
  let server: net.Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it("reads 100 Continue, a chunked body with trailers, and sees the close", async () => {
    const srv = net.createServer((s) => {
      s.once("data", () => {
        s.write("HTTP/1.1 100 Continue\r\n\r\n");
        s.end(
          "HTTP/1.1 200 OK\r\nX-A: 1\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nx-t: 2\r\n\r\n",
        );
      });
    });
    server = srv;
    const port = await new Promise<number>((resolve) =>
      srv.listen(0, "127.0.0.1", () => resolve((srv.address() as net.AddressInfo).port)),
    );
    const r = await send(port, { kind: "h1", send: "GET / HTTP/1.1\r\nhost: x\r\n\r\n" });
    expect(r).toEqual({
      responses: [
        {
          status: 200,
          interim: [100],
          headers: [
            ["X-A", "1"],
            ["transfer-encoding", "chunked"],
          ],
          body: "hi",
          trailers: [["x-t", "2"]],
        },
      ],
      error: "",
      closed: true,
      websocket: "",
    });
  });
});

describe("the corpus", () => {
  it("has at least 80 cases with unique ids, and configs whose port tokens all render", () => {
    expect(allCases.length).toBeGreaterThanOrEqual(80);
    const ids = allCases.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    const ports: Record<PortToken, number> = {
      "@listener": 1,
      "@admin": 2,
      "@raw": 3,
      "@echo": 4,
      "@refused": 5,
      "@blackhole": 6,
    };
    for (const c of allCases) {
      expect(c.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(JSON.stringify(render(c.config, ports))).not.toMatch(/"@(?!type)/);
    }
    expect(groupByConfig(allCases).flat()).toHaveLength(allCases.length);
  });

  it("every pending case exists, with its reason, and is not in the corpus", () => {
    expect(pendingCases.map((c) => c.id).sort()).toEqual(Object.keys(PENDING).sort());
    for (const c of pendingCases) {
      expect(PENDING[c.id]?.length, c.id).toBeGreaterThan(10);
      expect(allCases).not.toContain(c);
    }
  });

  it("compares at least 40 stats, listener stats under their canonical name", () => {
    expect(STAT_NAMES.length).toBeGreaterThanOrEqual(40);
    expect(canonical("listener.127.0.0.1_8080.downstream_cx_total", 8080)).toBe(
      "listener.main.downstream_cx_total",
    );
    expect(canonical("listener.127.0.0.1_9901.downstream_cx_total", 8080)).toBeNull();
    expect(canonical("cluster.raw.upstream_rq_200", 8080)).toBe("cluster.raw.upstream_rq_200");
  });
});

describe("known differences", () => {
  const doc = readFileSync(fromRoot("docs", "ENVOY-DIFFERENCES.md"), "utf8");
  const start = doc.indexOf("## Traffic (differential cases)");
  const end = doc.indexOf("\n## ", start + 1);
  const section = doc.slice(start, end === -1 ? undefined : end);
  const sections = new Map<string, string>();
  for (const part of section.split(/^### /m).slice(1)) {
    const nl = part.indexOf("\n");
    sections.set(part.slice(0, nl).trim(), part.slice(nl + 1));
  }

  it("docs/ENVOY-DIFFERENCES.md has one section per known entry, naming its cases, and no other", () => {
    expect(start).toBeGreaterThan(-1);
    expect([...sections.keys()].sort()).toEqual(KNOWN.map((k) => k.title).sort());
    for (const k of KNOWN) {
      const text = sections.get(k.title) ?? "";
      for (const id of k.cases) expect(text, `${k.title} names ${id}`).toContain(`\`${id}\``);
    }
  });

  it("every entry has a reason and names cases of the corpus", () => {
    const ids = allCases.map((c) => c.id);
    for (const k of KNOWN) {
      expect(k.reason.length, k.title).toBeGreaterThan(10);
      expect(k.fields.length, k.title).toBeGreaterThan(0);
      for (const c of k.cases)
        expect(
          ids.some((id) => glob(c).test(id)),
          `${k.title}: ${c}`,
        ).toBe(true);
    }
  });
});
