/**
 * An h2c client through the proxy to an h2c upstream (the mesh's hop): what every stream of one
 * connection carries both ways (trailers, its own pseudo-header order) and that each stream is
 * accounted once it is over, with many streams in flight on one connection.
 */
import http2 from "node:http2";
import { describe, expect, it } from "vitest";
import { waitUntil } from "../../../lib/wait.js";
import { CATCH_ALL, H2C_CLUSTER, useProxies } from "./helpers.js";

const proxies = useProxies();

interface Seen {
  pseudo: string[];
  trailers: http2.IncomingHttpHeaders | null;
  body: string;
}

/** An h2c upstream that echoes the path and body, answers with trailers, and records what came. */
async function upstream(seen: Seen[]): Promise<number> {
  const server = http2.createServer();
  server.on(
    "stream",
    (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, raw: string[]) => {
      const entry: Seen = {
        pseudo: raw.filter((h, i) => i % 2 === 0 && h.startsWith(":")),
        trailers: null,
        body: "",
      };
      seen.push(entry);
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        entry.body += chunk;
      });
      stream.on("trailers", (t: http2.IncomingHttpHeaders) => {
        entry.trailers = t;
      });
      stream.on("end", () => {
        stream.respond({ ":status": 200, "x-path": String(headers[":path"]) }, { waitForTrailers: true });
        stream.once("wantTrailers", () => stream.sendTrailers({ "x-upstream-trailer": entry.body.length }));
        stream.end(`body:${entry.body}`);
      });
    },
  );
  return (await proxies.serve(server)).port;
}

interface Answer {
  status: number;
  path: string;
  body: string;
  trailers: http2.IncomingHttpHeaders | null;
}

/** One request on `session`; `headers` in the order given; a body and trailers when given. */
function request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: string,
  trailers?: http2.OutgoingHttpHeaders,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const rq = session.request(headers, {
      endStream: body === undefined,
      waitForTrailers: trailers !== undefined,
    });
    const answer: Answer = { status: 0, path: "", body: "", trailers: null };
    rq.on("response", (h) => {
      answer.status = Number(h[":status"]);
      answer.path = String(h["x-path"]);
    });
    rq.on("trailers", (t) => {
      answer.trailers = t;
    });
    rq.setEncoding("utf8");
    rq.on("data", (chunk: string) => {
      answer.body += chunk;
    });
    rq.on("end", () => resolve(answer));
    rq.on("error", reject);
    if (trailers !== undefined) rq.once("wantTrailers", () => rq.sendTrailers(trailers));
    if (body !== undefined) rq.end(body);
  });
}

describe("h2c client -> proxy -> h2c upstream", () => {
  it("carries request and response trailers both ways on every stream of one connection", async () => {
    const seen: Seen[] = [];
    const port = await upstream(seen);
    const p = await proxies.proxy(CATCH_ALL, { backend: port }, { clusterExtra: { backend: H2C_CLUSTER } });
    const session = http2.connect(`http://127.0.0.1:${p.port}`);
    proxies.defer(() => session.close());
    const answers = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        request(
          session,
          { ":method": "POST", ":path": `/t${i}`, ":authority": "a", ":scheme": "http" },
          "x".repeat(i + 1),
          { "x-client-trailer": `t${i}` },
        ),
      ),
    );
    expect(answers.map((a) => [a.status, a.path, a.body, a.trailers?.["x-upstream-trailer"]])).toEqual([
      [200, "/t0", "body:x", "1"],
      [200, "/t1", "body:xx", "2"],
      [200, "/t2", "body:xxx", "3"],
      [200, "/t3", "body:xxxx", "4"],
    ]);
    expect(seen.map((s) => [s.body, s.trailers?.["x-client-trailer"]]).sort()).toEqual([
      ["x", "t0"],
      ["xx", "t1"],
      ["xxx", "t2"],
      ["xxxx", "t3"],
    ]);
  });

  it("keeps each stream's own pseudo-header order when a connection's streams alternate orders", async () => {
    const seen: Seen[] = [];
    const port = await upstream(seen);
    const p = await proxies.proxy(CATCH_ALL, { backend: port }, { clusterExtra: { backend: H2C_CLUSTER } });
    const session = http2.connect(`http://127.0.0.1:${p.port}`);
    proxies.defer(() => session.close());
    const a = { ":method": "GET", ":path": "/a", ":authority": "x", ":scheme": "http" };
    const b = { ":scheme": "http", ":authority": "x", ":path": "/b", ":method": "GET" };
    const c = { ":path": "/c", ":scheme": "http", ":method": "GET", ":authority": "x" };
    for (const headers of [a, b, a, c, b]) await request(session, headers);
    expect(seen.map((s) => s.pseudo)).toEqual([
      [":method", ":path", ":authority", ":scheme"],
      [":scheme", ":authority", ":path", ":method"],
      [":method", ":path", ":authority", ":scheme"],
      [":path", ":scheme", ":method", ":authority"],
      [":scheme", ":authority", ":path", ":method"],
    ]);
  });

  it("counts every stream over once many are in flight on one connection, upstream and downstream", async () => {
    const seen: Seen[] = [];
    const port = await upstream(seen);
    const p = await proxies.proxy(CATCH_ALL, { backend: port }, { clusterExtra: { backend: H2C_CLUSTER } });
    const session = http2.connect(`http://127.0.0.1:${p.port}`);
    proxies.defer(() => session.close());
    const n = 200;
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        request(session, { ":method": "GET", ":path": `/${i}`, ":authority": "a", ":scheme": "http" }),
      ),
    );
    expect(answers.filter((a) => a.status === 200 && a.path === `/${answers.indexOf(a)}`).length).toBe(n);
    await waitUntil("every stream is over", () => p.stat("http.ingress.downstream_rq_active") === 0);
    expect(p.stat("http.ingress.downstream_rq_total")).toBe(n);
    expect(p.stat("http.ingress.downstream_rq_2xx")).toBe(n);
    expect(p.stat("http.ingress.downstream_rq_rx_reset")).toBe(0);
    await waitUntil(
      "every upstream stream is over",
      () => p.stat("cluster.backend.upstream_rq_active") === 0,
    );
    expect(p.stat("cluster.backend.upstream_rq_total")).toBe(n);
    expect(p.stat("cluster.backend.upstream_rq_200")).toBe(n);
    expect(p.stat("cluster.backend.upstream_rq_rx_reset")).toBe(0);
  });
});
