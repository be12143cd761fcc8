/**
 * What arrives, both ways, on every hop: hop-by-hop request headers dropped, Host/:authority kept
 * (or rewritten by `host_rewrite`), the headers Envoy adds, repeated response headers kept as
 * separate fields, and response framing (content-length, chunked, 204/304, HEAD). (A retried POST's
 * body: conformance/tests/retry.ts.)
 * The echo's JSON view (`?format=json`) is what the last hop sent.
 */
import type { Agent } from "node:http";
import type { Socket } from "node:net";
import { expect } from "../harness/assert.js";
import { header, pool, request } from "../harness/client.js";
import { REWRITTEN_HOST } from "../harness/topologies.js";
import type { ConformanceTest, Endpoint } from "../harness/types.js";

interface EchoJson {
  host?: string;
  headers?: Record<string, string[]>;
}

/** Values of one request header as the echo saw them (names compared case-insensitively). */
function seen(json: EchoJson, name: string): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(json.headers ?? {})) if (k.toLowerCase() === name) out.push(...v);
  return out;
}

/**
 * GET `path` (with `?format=json`) sending `headers` (raw name/value list, plus the endpoint as Host
 * unless it names one); the echo's view.
 */
async function echoView(ep: Endpoint, path: string, headers: string[]): Promise<EchoJson> {
  const sep = path.includes("?") ? "&" : "?";
  const host = headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === "host")
    ? []
    : ["Host", `${ep.host}:${ep.port}`];
  const r = await request(ep, `${path}${sep}format=json`, { headers: [...host, ...headers] });
  expect(header(r, "x-echo-instance") !== undefined, `the proxy answered ${r.status} itself`);
  return JSON.parse(r.body.toString("utf8")) as EchoJson;
}

/** Every value of a response header, in order, as separate fields (never joined). */
function fields(rawHeaders: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === name) out.push(rawHeaders[i + 1] ?? "");
  }
  return out;
}

/** Hop-by-hop request headers (RFC 9110 7.6.1), and `x-drop-me`, which `Connection` nominates. */
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "te", "upgrade", "x-drop-me"];
/** Envoy's default route timeout, which x-envoy-expected-rq-timeout-ms carries. */
const DEFAULT_ROUTE_TIMEOUT_MS = "15000";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const COOKIES = ["a=1; Path=/", "b=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT; HttpOnly"];

function perHop(where: "direct" | "mesh"): ConformanceTest[] {
  const topology = where === "direct" ? "front" : "mesh";
  const via = where === "direct" ? "through the front proxy" : "through the mesh (h1 -> h2 -> h1)";
  return [
    {
      id: `hop-by-hop-dropped-${where}`,
      description: `connection, keep-alive, proxy-connection, te, upgrade and Connection-nominated headers are not forwarded ${via}`,
      criterion:
        "a GET sent with Connection: keep-alive, X-Drop-Me, Keep-Alive, Proxy-Connection, TE: gzip, " +
        "Upgrade and X-Drop-Me reaches the echo with none of those 6 fields, and with the end-to-end " +
        "X-Keep-Me: 1 intact (RFC 9110 7.6.1)",
      feature: "headers",
      topology,
      async check({ topo, measure }) {
        const json = await echoView(topo.listener(), "/", [
          "Connection",
          "keep-alive, X-Drop-Me",
          "Keep-Alive",
          "timeout=5",
          "Proxy-Connection",
          "keep-alive",
          "TE",
          "gzip",
          "Upgrade",
          "example/1",
          "X-Drop-Me",
          "1",
          "X-Keep-Me",
          "1",
        ]);
        const leaked = HOP_BY_HOP.filter((h) => seen(json, h).length > 0).map(
          (h) => `${h}: ${seen(json, h)}`,
        );
        measure("leaked", leaked);
        expect(
          seen(json, "x-keep-me").join() === "1",
          `an end-to-end header arrived as ${seen(json, "x-keep-me")}`,
        );
        expect(leaked.length === 0, `hop-by-hop headers reached the echo: ${leaked.join("; ")}`);
      },
    },
    {
      id: `host-preserved-${where}`,
      description: `the client's Host (with its port) reaches the echo unchanged ${via}`,
      criterion: "the echo sees Host exactly `app.example.test:8443`, as the client sent it",
      feature: "headers",
      topology,
      async check({ topo, measure }) {
        const host = "app.example.test:8443";
        const json = await echoView(topo.listener(), "/", ["Host", host]);
        measure("host", json.host);
        expect(json.host === host, `echo saw Host ${json.host}, sent ${host}`);
      },
    },
    {
      id: `set-cookie-fields-${where}`,
      description: `repeated response headers (set-cookie with a comma in its value) arrive as separate fields ${via}`,
      criterion:
        "the client gets 200 with 2 set-cookie fields equal to the echo's 2 (one has a comma in its " +
        "Expires date), in order and not joined, and x-twice as `1`, `2` in that order",
      feature: "headers",
      topology,
      async check({ topo, measure }) {
        const q = COOKIES.map((c) => `echo_header=${encodeURIComponent(`Set-Cookie:${c}`)}`).join("&");
        const r = await request(topo.listener(), `/?${q}&echo_header=X-Twice:1&echo_header=X-Twice:2`);
        const cookies = fields(r.rawHeaders, "set-cookie");
        const twice = fields(r.rawHeaders, "x-twice");
        measure("set-cookie", cookies);
        measure("x-twice", twice);
        expect(r.status === 200, `GET answered ${r.status}`);
        expect(
          JSON.stringify(cookies) === JSON.stringify(COOKIES),
          `set-cookie arrived as ${JSON.stringify(cookies)}; sent ${JSON.stringify(COOKIES)}`,
        );
        // Joining other names is allowed (RFC 9110 5.3) but loses nothing here only if the order holds.
        expect(twice.join(", ") === "1, 2", `x-twice arrived as ${JSON.stringify(twice)}`);
      },
    },
    {
      id: `envoy-request-headers-${where}`,
      description: `the echo sees x-forwarded-proto http, one UUID x-request-id and x-envoy-expected-rq-timeout-ms 15000 ${via}`,
      criterion:
        "the echo sees exactly one x-forwarded-proto `http`, one x-request-id that is a UUID and one " +
        "x-envoy-expected-rq-timeout-ms `15000` (Envoy's default route timeout)",
      feature: "envoy-headers",
      topology,
      async check({ topo, measure }) {
        const json = await echoView(topo.listener(), "/", []);
        const proto = seen(json, "x-forwarded-proto");
        const id = seen(json, "x-request-id");
        const timeout = seen(json, "x-envoy-expected-rq-timeout-ms");
        measure("x-forwarded-proto", proto);
        measure("x-request-id", id);
        measure("x-envoy-expected-rq-timeout-ms", timeout);
        expect(proto.join() === "http", `x-forwarded-proto arrived as ${JSON.stringify(proto)}`);
        expect(id.length === 1 && UUID.test(id[0] ?? ""), `x-request-id arrived as ${JSON.stringify(id)}`);
        expect(
          timeout.join() === DEFAULT_ROUTE_TIMEOUT_MS,
          `x-envoy-expected-rq-timeout-ms arrived as ${JSON.stringify(timeout)}`,
        );
      },
    },
    {
      id: `framing-content-length-${where}`,
      description: `a response with content-length keeps it (not turned into chunked) ${via}`,
      criterion:
        "a GET of a 1,000-byte body the echo sends with content-length answers 200 with 1,000 bytes, " +
        "content-length 1000 and no transfer-encoding",
      feature: "framing",
      topology,
      async check({ topo, measure }) {
        const r = await request(topo.listener(), "/?echo_size=1000");
        const length = fields(r.rawHeaders, "content-length");
        const te = fields(r.rawHeaders, "transfer-encoding");
        measure("content-length", length);
        measure("transfer-encoding", te);
        expect(
          r.status === 200 && r.body.length === 1000,
          `answered ${r.status} with ${r.body.length} bytes`,
        );
        expect(
          length.join() === "1000" && te.length === 0,
          `framed as content-length ${length} transfer-encoding ${te}`,
        );
      },
    },
    {
      id: `framing-204-304-head-${where}`,
      description: `204, 304 and HEAD responses carry no body nor chunked framing, and the connection stays usable ${via}`,
      criterion:
        "on one keep-alive connection: GET 204 answers 204 with no content-length; GET 304 answers 304; " +
        "HEAD answers 200 with content-length 1000; none of them has a body or transfer-encoding; then a " +
        "GET answers 200 with its 10-byte body",
      feature: "framing",
      topology,
      async check({ topo, measure }) {
        const agent = pool(1);
        try {
          const ep = topo.listener();
          const got: string[] = [];
          for (const [method, path, status] of [
            ["GET", "/?echo_status=204", 204],
            ["GET", "/?echo_status=304", 304],
            ["HEAD", "/?echo_size=1000", 200],
            ["GET", "/?echo_size=10", 200],
          ] as const) {
            const r = await request(ep, path, { method, agent });
            const length = fields(r.rawHeaders, "content-length");
            const te = fields(r.rawHeaders, "transfer-encoding");
            got.push(`${method} ${path}: ${r.status} cl=${length} te=${te} body=${r.body.length}`);
            expect(r.status === status, `${method} ${path} answered ${r.status}`);
            expect(te.length === 0, `${method} ${path}: transfer-encoding ${te}`);
            if (status === 204)
              expect(length.length === 0, `204 with content-length ${length} (RFC 9110 8.6)`);
            if (method === "HEAD")
              expect(length.join() === "1000", `HEAD: content-length ${length}, the echo sent 1000`);
            expect(
              r.body.length === (path.endsWith("=10") ? 10 : 0),
              `${method} ${path}: ${r.body.length}-byte body`,
            );
          }
          measure("responses", got);
        } finally {
          agent.destroy();
        }
      },
    },
    {
      id: `framing-chunked-${where}`,
      description: `a chunked response arrives whole and ends, and the keep-alive connection answers the next request ${via}`,
      criterion: `a chunked ${CHUNKED_BYTES.toLocaleString("en-US")}-byte answer from an echo arrives as 200 with exactly its bytes, and the next GET answers 200 on the same keep-alive connection`,
      feature: "framing",
      topology,
      async check({ topo, measure }) {
        const agent = pool(1);
        try {
          const ep = topo.listener();
          // The echo answers in two chunks without content-length; a missing last chunk times out here.
          const r = await request(ep, `/?echo_size=${CHUNKED_BYTES}&echo_chunked=1`, { agent });
          const first = idleSocket(agent);
          const te = fields(r.rawHeaders, "transfer-encoding");
          measure("status", r.status);
          measure("bytes", r.body.length);
          measure("transfer-encoding", te);
          measure("content-length", fields(r.rawHeaders, "content-length"));
          expect(header(r, "x-echo-instance") !== undefined, `the proxy answered ${r.status} itself`);
          expect(r.status === 200, `answered ${r.status}`);
          expect(
            r.body.equals(CHUNKED_BODY),
            `the body is ${r.body.length} bytes, not the echo's ${CHUNKED_BYTES} x`,
          );
          expect(first !== undefined, "the connection closed after the chunked response");
          const again = await request(ep, "/hello", { agent });
          measure("second", again.status);
          expect(again.status === 200, `the second request answered ${again.status}`);
          expect(idleSocket(agent) === first, "the second request went on a new connection");
        } finally {
          agent.destroy();
        }
      },
    },
  ];
}

/** The echo's `echo_size` body: that many `x`. */
const CHUNKED_BYTES = 3000;
const CHUNKED_BODY = Buffer.alloc(CHUNKED_BYTES, "x");

/** The one idle keep-alive socket of a `pool(1)` agent, if it kept one. */
function idleSocket(agent: Agent): Socket | undefined {
  for (const list of Object.values(agent.freeSockets)) if (list?.[0] !== undefined) return list[0];
  return undefined;
}

export const headerTests: ConformanceTest[] = [
  ...perHop("direct"),
  ...perHop("mesh"),
  {
    id: "host-rewrite-literal",
    description: "a route's host_rewrite (v3 host_rewrite_literal) replaces the Host the echo sees",
    criterion: `a GET of /hello sent with Host app.example.test reaches the echo with Host \`${REWRITTEN_HOST}\``,
    feature: "headers",
    topology: "routes",
    async check({ topo, measure }) {
      const json = await echoView(topo.listener(), "/hello", ["Host", "app.example.test"]);
      measure("host", json.host);
      expect(
        json.host === REWRITTEN_HOST,
        `echo saw Host ${json.host}; the route rewrites to ${REWRITTEN_HOST}`,
      );
    },
  },
];
