/**
 * Request and response header handling: hop-by-hop fields and `te`, name case and order,
 * x-forwarded-for/-proto, x-request-id, and x-envoy-* from internal and external clients (including
 * header-driven timeouts and retries).
 */
import { config } from "../config.js";
import type { Case } from "../types.js";
import { BASIC, EDGE, get, h1, resp } from "./util.js";

const RID = "5f0b7c8e-1d2a-4c3b-9e8f-0a1b2c3d4e5f";

/**
 * Envoy 1.40 trusts no client address as internal by default (not even 127.0.0.1):
 * `internal_address_config` makes 127.0.0.1 internal, so 127.0.6.5 stays external.
 */
const INTERNAL_LOOPBACK = { cidr_ranges: [{ address_prefix: "127.0.0.1", prefix_len: 32 }] };

/** An edge proxy that trusts 127.0.0.1 as internal. */
const EDGE_INTERNAL = config({
  hcm: { use_remote_address: true, internal_address_config: INTERNAL_LOOPBACK },
});

/** The same with a 1 s route timeout (header-driven timeouts finish quickly either way). */
const EDGE_INTERNAL_TIMEOUT = config({
  hcm: { use_remote_address: true, internal_address_config: INTERNAL_LOOPBACK },
  routes: [{ match: { prefix: "/" }, route: { cluster: "raw", timeout: "1s" } }],
});

/**
 * A retry's x-envoy-expected-rq-timeout-ms is the global timeout minus the time spent so far (it
 * varies); with a per-try timeout below it, it is the per-try timeout, the same on every run.
 */
const PER_TRY = "x-envoy-upstream-rq-per-try-timeout-ms: 1000";

export const headerCases: Case[] = [
  {
    id: "hop-by-hop-request",
    description: "connection, keep-alive, proxy-connection and a field named in connection are not forwarded",
    config: BASIC,
    exchange: h1(
      get(
        "/",
        "Connection: keep-alive, x-hop",
        "Keep-Alive: timeout=5",
        "Proxy-Connection: keep-alive",
        "x-hop: 1",
        "x-end: 2",
      ),
    ),
  },
  {
    id: "te-trailers",
    description: "`te: trailers` is the only te kept",
    config: BASIC,
    exchange: h1(get("/", "TE: trailers")),
  },
  {
    id: "te-gzip-trailers",
    description: "`te: gzip, trailers` reaches the upstream as `trailers`",
    config: BASIC,
    exchange: h1(get("/", "TE: gzip, trailers")),
  },
  {
    id: "te-gzip",
    description: "`te: gzip` is removed",
    config: BASIC,
    exchange: h1(get("/", "TE: gzip")),
  },
  {
    id: "request-header-case-order",
    description: "header names reach an HTTP/1.1 upstream lower-cased, in the client's order",
    config: BASIC,
    exchange: h1(get("/", "X-Zeta: 1", "User-Agent: Diff/1.0", "X-Alpha: 2", "ACCEPT: */*", "x-zeta: 3")),
  },
  {
    id: "response-hop-by-hop",
    description:
      "connection, keep-alive, proxy-connection and transfer-encoding from the upstream are not passed down",
    config: BASIC,
    exchange: h1(get("/")),
    upstream: [
      resp(
        "200 OK",
        ["Connection: keep-alive", "Keep-Alive: timeout=5", "Proxy-Connection: keep-alive", "X-Up: 1"],
        "hi",
      ),
    ],
  },
  {
    id: "response-header-case-order",
    description: "response header names are lower-cased, the upstream's order kept, date/server added",
    config: BASIC,
    exchange: h1(get("/")),
    upstream: [
      resp(
        "200 OK",
        ["X-Zeta: 1", "Content-Type: text/plain", "X-Alpha: 2", "Set-Cookie: a=1", "Set-Cookie: b=2"],
        "ok",
      ),
    ],
  },
  {
    id: "response-server-overwritten",
    description: "the upstream's `server` is replaced by `server: envoy`",
    config: BASIC,
    exchange: h1(get("/")),
    upstream: [resp("200 OK", ["Server: upstream/1.0"], "ok")],
  },
  {
    id: "response-date-kept",
    description: "an upstream `date` is kept (one date header)",
    config: BASIC,
    exchange: h1(get("/")),
    upstream: [resp("200 OK", ["Date: Tue, 01 Jan 2030 00:00:00 GMT"], "ok")],
  },
  {
    id: "upstream-service-time-set",
    description: "an upstream x-envoy-upstream-service-time is replaced by the proxy's own (one header)",
    config: BASIC,
    exchange: h1(get("/")),
    upstream: [resp("200 OK", ["x-envoy-upstream-service-time: 77777"], "ok")],
  },
  {
    id: "xff-absent",
    description: "use_remote_address false: no x-forwarded-for is added",
    config: BASIC,
    exchange: h1(get("/")),
  },
  {
    id: "xff-kept",
    description: "use_remote_address false: the client's x-forwarded-for passes untouched",
    config: BASIC,
    exchange: h1(get("/", "X-Forwarded-For: 203.0.113.7, 10.0.0.1")),
  },
  {
    id: "xff-edge-loopback-default",
    description:
      "use_remote_address true, client 127.0.0.1, no internal_address_config: the node's address is appended, external",
    config: EDGE,
    exchange: h1(get("/")),
  },
  {
    id: "xff-edge-internal",
    description: "use_remote_address true, client 127.0.0.1 trusted by internal_address_config: internal",
    config: EDGE_INTERNAL,
    exchange: h1(get("/")),
  },
  {
    id: "xff-edge-external",
    description: "use_remote_address true, client 127.0.6.5: its address is appended, not internal",
    config: EDGE,
    exchange: h1(get("/"), { from: "external" }),
  },
  {
    id: "xff-edge-external-append",
    description: "use_remote_address true, client 127.0.6.5 with an x-forwarded-for: appended to it",
    config: EDGE,
    exchange: h1(get("/", "X-Forwarded-For: 203.0.113.7"), { from: "external" }),
  },
  {
    id: "xfp-kept",
    description: "use_remote_address false: the client's x-forwarded-proto stays",
    config: BASIC,
    exchange: h1(get("/", "X-Forwarded-Proto: https")),
  },
  {
    id: "xfp-edge-external-overwritten",
    description: "edge, external client: x-forwarded-proto is overwritten with the connection's scheme",
    config: EDGE,
    exchange: h1(get("/", "X-Forwarded-Proto: https"), { from: "external" }),
  },
  {
    id: "request-id-absent",
    description: "no x-request-id: one is generated",
    config: BASIC,
    exchange: h1(get("/")),
  },
  {
    id: "request-id-empty",
    description: "an empty x-request-id is replaced by a generated one",
    config: BASIC,
    exchange: h1(get("/", "x-request-id:")),
  },
  {
    id: "request-id-kept",
    description: "not an edge request: the client's x-request-id is kept",
    config: BASIC,
    exchange: h1(get("/", `x-request-id: ${RID}`)),
  },
  {
    id: "request-id-edge-internal",
    description: "edge proxy, internal client: the client's x-request-id is kept",
    config: EDGE_INTERNAL,
    exchange: h1(get("/", `x-request-id: ${RID}`)),
  },
  {
    id: "request-id-edge-external",
    description: "edge proxy, external client: the x-request-id is regenerated",
    config: EDGE_INTERNAL,
    exchange: h1(get("/", `x-request-id: ${RID}`), { from: "external" }),
  },
  {
    id: "request-id-not-generated",
    description: "generate_request_id false: no x-request-id is added",
    config: config({ hcm: { generate_request_id: false } }),
    exchange: h1(get("/")),
  },
  {
    id: "envoy-internal-spoofed",
    description: "edge, external client sending x-envoy-internal: removed",
    config: EDGE_INTERNAL,
    exchange: h1(get("/", "x-envoy-internal: true"), { from: "external" }),
  },
  {
    id: "envoy-headers-external-stripped",
    description: "edge, external client: x-envoy-* control headers are removed, x-envoy-original-path passes",
    config: EDGE_INTERNAL,
    exchange: h1(
      get(
        "/",
        "x-envoy-retriable-status-codes: 418",
        "x-envoy-retriable-header-names: x-retry",
        "x-envoy-max-retries: 3",
        "x-envoy-upstream-alt-stat-name: alt",
        "x-envoy-decorator-operation: op",
        "x-envoy-downstream-service-cluster: other",
        "x-envoy-original-path: /orig",
        "x-envoy-force-trace: true",
        "x-envoy-ip-tags: t",
      ),
      { from: "external" },
    ),
  },
  {
    id: "envoy-headers-internal-kept",
    description: "edge, internal client: the same x-envoy-* headers (those not consumed) pass",
    config: EDGE_INTERNAL,
    exchange: h1(
      get(
        "/",
        "x-envoy-upstream-alt-stat-name: alt",
        "x-envoy-decorator-operation: op",
        "x-envoy-downstream-service-cluster: other",
        "x-envoy-original-path: /orig",
        "x-envoy-ip-tags: t",
      ),
    ),
  },
  {
    id: "retry-header-external-ignored",
    description: "edge, external client: x-envoy-retry-on/x-envoy-max-retries are stripped and not honoured",
    config: EDGE,
    exchange: h1(get("/", "x-envoy-retry-on: 5xx", "x-envoy-max-retries: 2"), { from: "external" }),
    upstream: [resp("503 Service Unavailable", [], "busy"), resp("200 OK", [], "ok")],
  },
  {
    id: "retry-header-internal-honoured",
    description: "edge, internal client: x-envoy-retry-on: 5xx retries a 503",
    config: EDGE_INTERNAL,
    exchange: h1(get("/", "x-envoy-retry-on: 5xx", "x-envoy-max-retries: 2", PER_TRY)),
    upstream: [resp("503 Service Unavailable", [], "busy"), resp("200 OK", [], "ok")],
  },
  {
    id: "retry-header-not-edge-honoured",
    description: "use_remote_address false: any client's x-envoy-retry-on is honoured",
    config: BASIC,
    exchange: h1(get("/", "x-envoy-retry-on: 5xx", PER_TRY), { from: "external" }),
    upstream: [resp("503 Service Unavailable", [], "busy"), resp("200 OK", [], "ok")],
  },
  {
    id: "retriable-status-codes-internal",
    description: "internal client: x-envoy-retriable-status-codes: 418 with retry-on retriable-status-codes",
    config: EDGE_INTERNAL,
    exchange: h1(
      get("/", "x-envoy-retry-on: retriable-status-codes", "x-envoy-retriable-status-codes: 418", PER_TRY),
    ),
    upstream: [resp("418 I'm a teapot", [], "tea"), resp("200 OK", [], "ok")],
  },
  {
    id: "retriable-status-codes-external",
    description: "external client: the same headers are stripped, the 418 passes",
    config: EDGE_INTERNAL,
    exchange: h1(
      get("/", "x-envoy-retry-on: retriable-status-codes", "x-envoy-retriable-status-codes: 418"),
      {
        from: "external",
      },
    ),
    upstream: [resp("418 I'm a teapot", [], "tea"), resp("200 OK", [], "ok")],
  },
  {
    id: "rq-timeout-header-internal",
    description:
      "internal client: x-envoy-upstream-rq-timeout-ms: 200 becomes the route timeout (504) and is consumed",
    config: EDGE_INTERNAL_TIMEOUT,
    exchange: h1(get("/", "x-envoy-upstream-rq-timeout-ms: 200")),
    upstream: [{ silent: true }],
  },
  {
    id: "rq-timeout-header-external",
    description: "external client: x-envoy-upstream-rq-timeout-ms is stripped; the route's 1 s applies",
    config: EDGE_INTERNAL_TIMEOUT,
    exchange: h1(get("/", "x-envoy-upstream-rq-timeout-ms: 200"), { from: "external" }),
    upstream: [{ silent: true }],
  },
  {
    id: "per-try-timeout-header-internal",
    description:
      "internal client: x-envoy-upstream-rq-per-try-timeout-ms with x-envoy-retry-on: 5xx retries a silent upstream",
    config: EDGE_INTERNAL_TIMEOUT,
    exchange: h1(
      get(
        "/",
        "x-envoy-retry-on: 5xx",
        "x-envoy-max-retries: 1",
        "x-envoy-upstream-rq-per-try-timeout-ms: 150",
      ),
    ),
    upstream: [{ silent: true }, resp("200 OK", [], "second")],
  },
  {
    id: "expected-timeout-header-sent",
    description: "the upstream request carries x-envoy-expected-rq-timeout-ms (the 15 s default)",
    config: BASIC,
    exchange: h1(get("/")),
  },
];
