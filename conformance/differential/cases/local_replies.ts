/**
 * Local replies and upstream failures: no route, no healthy upstream, connect refused and timeout,
 * upstream reset and close, route and per-try timeouts, retries (exhausted, then success, on connect
 * failure and reset), a disabled upgrade (403).
 */
import { config } from "../config.js";
import type { Case, Doc } from "../types.js";
import { get, h1, resp } from "./util.js";

function to(cluster: string, extra: Doc = {}): Doc {
  return config({ routes: [{ match: { prefix: "/" }, route: { cluster, ...extra } }] });
}

/**
 * Retry policies carry a per_try_timeout below the route timeout: a retry's
 * x-envoy-expected-rq-timeout-ms is then the per-try timeout, not "global minus elapsed" (which varies).
 */
const RETRY_5XX = to("raw", { retry_policy: { retry_on: "5xx", num_retries: 2, per_try_timeout: "1s" } });

export const localReplyCases: Case[] = [
  {
    id: "no-route",
    description: "no route matches: 404, empty body",
    config: config({ routes: [{ match: { prefix: "/api" }, route: { cluster: "raw" } }] }),
    exchange: h1(get("/other")),
  },
  {
    id: "no-healthy-upstream",
    description: "a cluster without endpoints: 503 `no healthy upstream`",
    config: to("empty"),
    exchange: h1(get("/")),
  },
  {
    id: "connect-refused",
    description: "the upstream port is closed: 503 with the reset reason",
    config: to("refused"),
    exchange: h1(get("/")),
  },
  {
    id: "connect-timeout",
    description: "the upstream never accepts: 503 after connect_timeout (0.25 s)",
    config: to("blackhole"),
    exchange: h1(get("/")),
  },
  {
    id: "upstream-reset-before-headers",
    description: "the upstream resets the connection before answering: 503",
    config: to("raw"),
    exchange: h1(get("/")),
    upstream: [{ reset: true }],
  },
  {
    id: "upstream-close-before-headers",
    description: "the upstream closes the connection without answering: 503",
    config: to("raw"),
    exchange: h1(get("/")),
    upstream: [{ close: true }],
  },
  {
    id: "upstream-reset-mid-body",
    description: "the upstream resets after part of the body: the response breaks off",
    config: to("raw"),
    exchange: h1(get("/")),
    upstream: [{ raw: "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial", after: "reset" }],
  },
  {
    id: "upstream-malformed-response",
    description: "the upstream answers garbage: 503",
    config: to("raw"),
    exchange: h1(get("/")),
    upstream: [{ raw: "NOT HTTP AT ALL\r\n\r\n", after: "close" }],
  },
  {
    id: "route-timeout",
    description: "route timeout 0.3 s and a silent upstream: 504 `upstream request timeout`",
    config: to("raw", { timeout: "0.3s" }),
    exchange: h1(get("/")),
    upstream: [{ silent: true }],
  },
  {
    id: "per-try-timeout",
    description: "per_try_timeout 0.15 s, one retry, a silent upstream: two tries, then 504",
    config: to("raw", {
      timeout: "2s",
      retry_policy: { retry_on: "5xx", num_retries: 1, per_try_timeout: "0.15s" },
    }),
    exchange: h1(get("/")),
    upstream: [{ silent: true }],
  },
  {
    id: "retries-exhausted",
    description: "retry_on 5xx, 2 retries, always 503: three tries, the last 503 passed down",
    config: RETRY_5XX,
    exchange: h1(get("/")),
    upstream: [resp("503 Service Unavailable", [], "busy")],
  },
  {
    id: "retry-then-success",
    description: "retry_on 5xx: a 503, then a 200",
    config: RETRY_5XX,
    exchange: h1(get("/")),
    upstream: [resp("503 Service Unavailable", [], "busy"), resp("200 OK", [], "ok")],
  },
  {
    id: "retry-not-on-4xx",
    description: "retry_on 5xx: a 404 is not retried",
    config: RETRY_5XX,
    exchange: h1(get("/")),
    upstream: [resp("404 Not Found", [], "nope"), resp("200 OK", [], "ok")],
  },
  {
    id: "retry-connect-failure",
    description:
      "retry_on connect-failure, 2 retries, port closed: 503 `retried and the latest reset reason`",
    config: to("refused", { retry_policy: { retry_on: "connect-failure", num_retries: 2 } }),
    exchange: h1(get("/")),
  },
  {
    id: "retry-reset",
    description: "retry_on reset: a reset, then a 200",
    config: to("raw", { retry_policy: { retry_on: "reset", num_retries: 1, per_try_timeout: "1s" } }),
    exchange: h1(get("/")),
    upstream: [{ reset: true }, resp("200 OK", [], "ok")],
  },
  {
    id: "retry-retriable-status-codes",
    description: "retry_on retriable-status-codes [418]: a 418, then a 200",
    config: to("raw", {
      retry_policy: {
        retry_on: "retriable-status-codes",
        num_retries: 1,
        retriable_status_codes: [418],
        per_try_timeout: "1s",
      },
    }),
    exchange: h1(get("/")),
    upstream: [resp("418 I'm a teapot", [], "tea"), resp("200 OK", [], "ok")],
  },
  {
    id: "upgrade-not-enabled",
    description: "a WebSocket upgrade on a route without upgrade_configs: 403",
    config: to("raw"),
    exchange: h1(
      get(
        "/ws",
        "connection: upgrade",
        "upgrade: websocket",
        "sec-websocket-version: 13",
        "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==",
      ),
    ),
  },
];
