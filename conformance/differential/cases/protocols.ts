/**
 * Upgrades and HTTP/2: WebSocket accepted (the echo service), refused with a 4xx and answered with a
 * 200 (the recording upstream); h2c from the client for a subset; an h2c upstream for a subset.
 */
import { config } from "../config.js";
import type { Case } from "../types.js";
import { BASIC, get, h1, h2, req, resp } from "./util.js";

const WS_HEADERS = [
  "connection: Upgrade",
  "upgrade: websocket",
  "sec-websocket-version: 13",
  "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==",
];

const WS = config({
  hcm: { upgrade_configs: [{ upgrade_type: "websocket" }] },
  routes: [
    { match: { prefix: "/ws" }, route: { cluster: "echo" } },
    { match: { prefix: "/" }, route: { cluster: "raw" } },
  ],
});

/** The default codec (AUTO) serves h2c prior knowledge. */
const H2C = BASIC;
const H2_UPSTREAM = config({ routes: [{ match: { prefix: "/" }, route: { cluster: "raw_h2" } }] });

export const protocolCases: Case[] = [
  {
    id: "ws-accepted",
    description: "WebSocket to the echo service: 101, one message echoed",
    config: WS,
    exchange: h1(get("/ws", ...WS_HEADERS), { websocket: "hello" }),
  },
  {
    id: "ws-refused-403",
    description: "the upstream refuses the upgrade with 403",
    config: WS,
    exchange: h1(get("/deny", ...WS_HEADERS)),
    upstream: [resp("403 Forbidden", ["content-type: text/plain"], "no")],
  },
  {
    id: "ws-answered-200",
    description: "the upstream answers the upgrade request with a plain 200",
    config: WS,
    exchange: h1(get("/plain", ...WS_HEADERS)),
    upstream: [resp("200 OK", ["content-type: text/plain"], "not a websocket")],
  },
  {
    id: "ws-upgrade-raw-101",
    description: "the recording upstream accepts the upgrade with a 101 (headers compared)",
    config: WS,
    exchange: h1(get("/raw101", ...WS_HEADERS)),
    upstream: [
      {
        raw:
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nX-Up: 1\r\n\r\n",
      },
    ],
  },
  {
    id: "h2c-get",
    description: "h2c GET to an HTTP/1.1 upstream",
    config: H2C,
    exchange: h2("GET", "/h2?x=1", [
      ["user-agent", "diff-h2"],
      ["x-custom", "1"],
    ]),
  },
  {
    id: "h2c-post-body",
    description: "h2c POST with content-length",
    config: H2C,
    exchange: h2("POST", "/up", [["content-length", "5"]], { body: "hello" }),
  },
  {
    id: "h2c-post-no-length",
    description: "h2c POST without content-length: chunked to the HTTP/1.1 upstream",
    config: H2C,
    exchange: h2("POST", "/up", [], { body: "hello" }),
  },
  {
    id: "h2c-post-trailers",
    description: "h2c POST with trailers",
    config: H2C,
    exchange: h2("POST", "/up", [["te", "trailers"]], { body: "hello", trailers: [["x-checksum", "abc"]] }),
  },
  {
    id: "h2c-te-trailers",
    description: "h2c request with te: trailers",
    config: H2C,
    exchange: h2("GET", "/", [["te", "trailers"]]),
  },
  {
    id: "h2c-response-chunked",
    description: "h2c client, chunked HTTP/1.1 response with trailers",
    config: H2C,
    exchange: h2("GET", "/"),
    upstream: [
      {
        raw: "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-t\r\n\r\n3\r\nabc\r\n0\r\nx-t: done\r\n\r\n",
      },
    ],
  },
  {
    id: "h2c-no-route",
    description: "h2c request, no route: 404",
    config: config({ routes: [{ match: { prefix: "/api" }, route: { cluster: "raw" } }] }),
    exchange: h2("GET", "/other"),
  },
  {
    id: "h2c-upstream-reset",
    description: "h2c request, the HTTP/1.1 upstream resets: 503",
    config: H2C,
    exchange: h2("GET", "/"),
    upstream: [{ reset: true }],
  },
  {
    id: "h2c-external-edge",
    description: "h2c from an external client to an edge proxy",
    config: config({ hcm: { use_remote_address: true } }),
    exchange: h2("GET", "/", [["x-request-id", "5f0b7c8e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"]], {
      from: "external",
    }),
  },
  {
    id: "h2-upstream-get",
    description: "HTTP/1.1 client, h2c upstream: the request as the upstream sees it",
    config: H2_UPSTREAM,
    exchange: h1(get("/h2up", "X-Mixed-Case: 1", "Connection: keep-alive", "TE: trailers")),
    upstream: [{ h2: { status: 200, headers: [["content-type", "text/plain"]], body: "from h2" } }],
  },
  {
    id: "h2-upstream-no-length",
    description: "h2c upstream answers without content-length: chunked to the HTTP/1.1 client",
    config: H2_UPSTREAM,
    exchange: h1(get("/")),
    upstream: [{ h2: { status: 200, body: "no length" } }],
  },
  {
    id: "h2-upstream-content-length",
    description: "h2c upstream answers with content-length: passed to the HTTP/1.1 client",
    config: H2_UPSTREAM,
    exchange: h1(get("/")),
    upstream: [{ h2: { status: 200, headers: [["content-length", "5"]], body: "fixed" } }],
  },
  {
    id: "h2-upstream-trailers",
    description: "h2c upstream answers with trailers",
    config: H2_UPSTREAM,
    exchange: h1(get("/")),
    upstream: [{ h2: { status: 200, body: "body", trailers: [["x-t", "done"]] } }],
  },
  {
    id: "h2-upstream-post-chunked",
    description: "chunked HTTP/1.1 POST to an h2c upstream",
    config: H2_UPSTREAM,
    exchange: h1(
      req(
        "POST /up HTTP/1.1",
        ["host: example.com", "transfer-encoding: chunked"],
        "5\r\nhello\r\n0\r\n\r\n",
      ),
    ),
    upstream: [{ h2: { status: 201, body: "" } }],
  },
  {
    id: "h2-upstream-reset",
    description: "the h2c upstream resets the stream: 503",
    config: H2_UPSTREAM,
    exchange: h1(get("/")),
    upstream: [{ reset: true }],
  },
  {
    id: "h2-upstream-503",
    description: "the h2c upstream answers 503",
    config: H2_UPSTREAM,
    exchange: h1(get("/")),
    upstream: [{ h2: { status: 503, body: "busy" } }],
  },
  {
    id: "h2c-to-h2-upstream",
    description: "h2c client and h2c upstream",
    config: H2_UPSTREAM,
    exchange: h2("GET", "/both", [["x-custom", "1"]]),
    upstream: [{ h2: { status: 200, headers: [["x-up", "1"]], body: "h2 all the way" } }],
  },
];
