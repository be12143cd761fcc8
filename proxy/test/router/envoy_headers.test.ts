/**
 * What the router does to responses and what an internal client's x-envoy-* headers do, checked
 * against the bytes Envoy 1.40 produced for the same upstream answers (measured with a raw TCP
 * upstream; `D` stands for a date, `T` for a service time).
 */
import http2 from "node:http2";
import { describe, expect, it } from "vitest";
import { raw } from "../../../test-support/http.js";
import { localAddress } from "../../http/request_headers.js";
import { rawUpstream } from "../conn_pool/helpers.js";
import { CATCH_ALL, H2C_CLUSTER, type TestProxy, useProxies } from "../http/helpers.js";

const proxies = useProxies();
const serve = async (server: import("node:net").Server) => (await proxies.serve(server)).port;

/** Upstream answers by path, as the measurement's raw upstream gave them. */
const ANSWERS: Record<string, string> = {
  "/ka":
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nMixed-Case: 1\r\n\r\nok",
  "/hdrs":
    "HTTP/1.1 200 OK\r\nDate: Thu, 01 Jan 2015 00:00:00 GMT\r\nServer: raw\r\nX-Envoy-Upstream-Service-Time: 999\r\nContent-Length: 2\r\n\r\nok",
  "/chunk":
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-t\r\n\r\n2\r\nok\r\n0\r\nx-t: 1\r\n\r\n",
  "/500": "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
};

const answer = (path: string): string | null =>
  path === "/hang" ? null : (ANSWERS[path] ?? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

/** A whole response framed by content-length has arrived. */
function complete(text: string): boolean {
  const end = text.indexOf("\r\n\r\n");
  const length = end < 0 ? null : /content-length: (\d+)/.exec(text.slice(0, end));
  return length != null && text.length - end - 4 >= Number(length[1]);
}

function normalised(text: string): string {
  return text
    .replace(/date: (?!Thu, 01 Jan 2015)[^\r]*/g, "date: D")
    .replace(/x-envoy-upstream-service-time: \d+/g, "x-envoy-upstream-service-time: T");
}

describe("responses as Envoy 1.40 writes them", () => {
  it("one keep-alive connection: hop-by-hop gone, names lower-case, server and service time set in place", async () => {
    const up = await rawUpstream(serve, answer);
    const p = await proxies.proxy(CATCH_ALL, { backend: up.port });
    const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
    const { text } = await raw(p.port, get("/ka") + get("/hdrs") + get("/chunk"), {
      until: (t) => t.endsWith("0\r\n\r\n"),
    });
    expect(normalised(text)).toBe(
      "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nmixed-case: 1\r\nx-envoy-upstream-service-time: T\r\n" +
        "date: D\r\nserver: envoy\r\n\r\nok" +
        "HTTP/1.1 200 OK\r\ndate: Thu, 01 Jan 2015 00:00:00 GMT\r\nserver: envoy\r\n" +
        "x-envoy-upstream-service-time: T\r\ncontent-length: 2\r\n\r\nok" +
        "HTTP/1.1 200 OK\r\ntrailer: x-t\r\nx-envoy-upstream-service-time: T\r\ndate: D\r\nserver: envoy\r\n" +
        "transfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    );
  });

  it("a mesh (front -> sidecar -> upstream) answers with one x-envoy-upstream-service-time", async () => {
    const up = await rawUpstream(serve, answer);
    const sidecar = await proxies.proxy(CATCH_ALL, { backend: up.port });
    const front = await proxies.proxy(CATCH_ALL, { backend: sidecar.port });
    const { text } = await raw(front.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", {
      until: (t) => t.endsWith("ok"),
    });
    expect(text.match(/x-envoy-upstream-service-time:/g)?.length).toBe(1);
    expect(text.match(/server:/g)?.length).toBe(1);
  });

  it("a client's Connection: close gets connection: close, and the connection closes", async () => {
    const up = await rawUpstream(serve, answer);
    const p = await proxies.proxy(CATCH_ALL, { backend: up.port });
    const { text, closedByPeer } = await raw(
      p.port,
      "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    expect(normalised(text)).toBe(
      "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-envoy-upstream-service-time: T\r\ndate: D\r\n" +
        "server: envoy\r\nconnection: close\r\n\r\nok",
    );
    expect(closedByPeer).toBe(true);
  });
});

/**
 * A v2 bootstrap with `use_remote_address`: a client at 127.0.0.1 is internal (Envoy 1.7's rule),
 * which is how its x-envoy-* headers reach the router. Envoy 1.40 behaves the same for a client in
 * its `internal_address_config` (measured).
 */
const V2_EDGE = `
static_resources:
  listeners:
  - address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.http_connection_manager
        config:
          stat_prefix: ingress_http
          use_remote_address: true
          route_config:
            virtual_hosts:
            - name: backend
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: backend }
          http_filters:
          - name: envoy.router
            config: {}
  clusters:
  - name: backend
    connect_timeout: 0.25s
    type: static
    hosts:
    - socket_address: { address: 127.0.0.1, port_value: {{backend}} }
`;

interface HeaderCase {
  name: string;
  path: string;
  headers: string;
  /** Status the client gets. */
  status: number;
  /** Requests the upstream saw. */
  tries: number;
  /** x-envoy-expected-rq-timeout-ms of the first try. */
  expected: string;
  /** At least this long, ms. */
  minMs?: number;
}

const HEADER_CASES: HeaderCase[] = [
  {
    name: "x-envoy-upstream-rq-timeout-ms becomes the route timeout",
    path: "/hang",
    headers: "X-Envoy-Upstream-Rq-Timeout-Ms: 300\r\n",
    status: 504,
    tries: 1,
    expected: "300",
    minMs: 290,
  },
  {
    name: "x-envoy-upstream-rq-per-try-timeout-ms below the route timeout is the expected timeout",
    path: "/a",
    headers: "X-Envoy-Upstream-Rq-Timeout-Ms: 5000\r\nX-Envoy-Upstream-Rq-Per-Try-Timeout-Ms: 4000\r\n",
    status: 200,
    tries: 1,
    expected: "4000",
  },
  {
    name: "x-envoy-retry-on with x-envoy-max-retries: 2 retries a 500 twice",
    path: "/500",
    headers: "X-Envoy-Retry-On: 5xx\r\nX-Envoy-Max-Retries: 2\r\n",
    status: 500,
    tries: 3,
    expected: "15000",
  },
  {
    name: "retriable-status-codes from the header, one retry by default",
    path: "/500",
    headers: "X-Envoy-Retry-On: retriable-status-codes\r\nX-Envoy-Retriable-Status-Codes: 500\r\n",
    status: 500,
    tries: 2,
    expected: "15000",
  },
];

describe("an internal client's x-envoy-* headers drive the router and are consumed", () => {
  for (const c of HEADER_CASES) {
    it(c.name, async () => {
      const up = await rawUpstream(serve, answer);
      const p: TestProxy = await proxies.bootstrap(V2_EDGE, { backend: up.port });
      const started = Date.now();
      const { text } = await raw(p.port, `GET ${c.path} HTTP/1.1\r\nHost: x\r\n${c.headers}\r\n`, {
        until: complete,
        withinMs: 3000,
      });
      expect(text.slice(9, 12)).toBe(String(c.status));
      if (c.minMs !== undefined) expect(Date.now() - started).toBeGreaterThanOrEqual(c.minMs);
      const sent = up.received.join("");
      expect(sent.match(/^GET /gm)?.length).toBe(c.tries);
      expect(/\r\nx-envoy-expected-rq-timeout-ms: (\d+)/.exec(sent)?.[1]).toBe(c.expected);
      expect(sent).toContain("\r\nx-envoy-internal: true\r\n");
      // Consumed: none of the client's control headers reach the upstream.
      expect(sent).not.toMatch(/x-envoy-(upstream-rq|retry|max-retries|retriable)/i);
    });
  }

  it("retries announce what is left of the route timeout", async () => {
    const up = await rawUpstream(serve, answer);
    const p = await proxies.bootstrap(V2_EDGE, { backend: up.port });
    await raw(
      p.port,
      "GET /500 HTTP/1.1\r\nHost: x\r\nX-Envoy-Retry-On: 5xx\r\nX-Envoy-Max-Retries: 1\r\n\r\n",
      {
        until: complete,
      },
    );
    const expected = [...up.received.join("").matchAll(/x-envoy-expected-rq-timeout-ms: (\d+)/g)].map((m) =>
      Number(m[1]),
    );
    expect(expected.length).toBe(2);
    expect(expected[0]).toBe(15000);
    expect(expected[1]).toBeLessThan(15000);
    expect(expected[1]).toBeGreaterThan(14000);
  });

  it("v3: the same headers from a loopback client are removed and do nothing (external)", async () => {
    const up = await rawUpstream(serve, answer);
    const p = await proxies.proxy(CATCH_ALL, { backend: up.port }, { hcmExtra: "use_remote_address: true" });
    const { text } = await raw(
      p.port,
      "GET /500 HTTP/1.1\r\nHost: x\r\nX-Envoy-Retry-On: 5xx\r\nX-Envoy-Max-Retries: 2\r\n\r\n",
      { until: complete },
    );
    expect(text.slice(9, 12)).toBe("500");
    const sent = up.received.join("");
    expect(sent.match(/^GET /gm)?.length).toBe(1);
    expect(sent).not.toContain("x-envoy-retry-on");
    expect(sent).not.toContain("x-envoy-internal");
  });
});

describe("v3 internal_address_config: the listed clients are internal, as in Envoy 1.40", () => {
  const INTERNAL =
    "use_remote_address: true\ninternal_address_config:\n  cidr_ranges: [{ address_prefix: 127.0.0.0, prefix_len: 8 }]";

  it("a client in the range keeps its control headers, which drive the router and are consumed", async () => {
    const up = await rawUpstream(serve, answer);
    const p = await proxies.proxy(CATCH_ALL, { backend: up.port }, { hcmExtra: INTERNAL });
    const { text } = await raw(
      p.port,
      "GET /500 HTTP/1.1\r\nHost: x\r\nX-Envoy-Retry-On: 5xx\r\nX-Envoy-Max-Retries: 1\r\nX-Request-Id: mine\r\nX-Envoy-Force-Trace: 1\r\n\r\n",
      { until: complete },
    );
    expect(text.slice(9, 12)).toBe("500");
    // x-envoy-force-trace from an internal client: the request id comes back (Envoy's mutateResponseHeaders).
    expect(text).toMatch(/\r\nserver: envoy\r\nx-request-id: mine\r\n\r\n$/);
    const sent = up.received.join("");
    expect(sent.match(/^GET /gm)?.length).toBe(2);
    expect(sent).toContain(
      "x-envoy-force-trace: 1\r\nx-forwarded-for: LOCAL\r\nx-forwarded-proto: http\r\nx-envoy-internal: true\r\n".replace(
        "LOCAL",
        localAddress(),
      ),
    );
    expect(sent).not.toContain("x-envoy-retry-on");
  });
});

describe("to an h2c upstream", () => {
  it("pseudo-headers in Envoy's order: an HTTP/1.1 client's, or the h2 client's own", async () => {
    const seen: string[][] = [];
    const server = http2.createServer();
    server.on(
      "stream",
      (stream: http2.ServerHttp2Stream, _h: http2.IncomingHttpHeaders, _f: number, rawHeaders: string[]) => {
        seen.push(rawHeaders.filter((h, i) => i % 2 === 0 && h.startsWith(":")));
        stream.respond({ ":status": 200 });
        stream.end("ok");
      },
    );
    const up = await proxies.serve(server);
    const p = await proxies.proxy(
      CATCH_ALL,
      { backend: up.port },
      { clusterExtra: { backend: H2C_CLUSTER } },
    );
    await raw(p.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", {
      until: (t) => t.endsWith("ok") || t.endsWith("0\r\n\r\n"),
    });
    // An h2 client with its own order.
    const session = http2.connect(`http://127.0.0.1:${p.port}`);
    const rq = session.request({ ":scheme": "http", ":authority": "a", ":method": "GET", ":path": "/" });
    rq.resume();
    await new Promise((resolve) => rq.once("end", resolve));
    session.close();
    expect(seen).toEqual([
      [":authority", ":path", ":method", ":scheme"],
      [":scheme", ":authority", ":method", ":path"],
    ]);
  });
});
