/**
 * Retries as Envoy does them (issue 12): each `retry_on` condition the route's retry policy names
 * (gateway-error, retriable-4xx, retriable-headers, refused-stream, 5xx with the attempt count
 * headers), a retry policy a client asks for in request headers (`x-envoy-retry-on` with
 * `x-envoy-retriable-status-codes`), and `retry_back_off`. What is compared: the attempts the
 * upstream saw (their `x-envoy-attempt-count`), the final response, the `upstream_rq_retry*` stats.
 * (retry_on 5xx, reset, connect-failure and retriable-status-codes: local_replies.ts; the request
 * headers from internal and external clients: headers.ts.)
 */
import { config } from "../config.js";
import type { Case, Doc } from "../types.js";
import { get, h1, resp } from "./util.js";

/**
 * Every route to `cluster` with the retry policy `policy` (a per-try timeout keeps the expected
 * timeout header fixed).
 */
function retrying(policy: Doc, parts: { vhost?: Doc; hcm?: Doc } = {}, cluster = "raw"): Doc {
  return config({
    routes: [
      {
        match: { prefix: "/" },
        route: { cluster, retry_policy: { per_try_timeout: "1s", ...policy } },
      },
    ],
    ...parts,
  });
}

/** The back-off stats besides the default list (retry, retry_success, retry_limit_exceeded, retry_overflow). */
const RETRY_STATS = [
  "cluster.raw.upstream_rq_retry_backoff_exponential",
  "cluster.raw.upstream_rq_retry_backoff_ratelimited",
];

const ok = resp("200 OK", [], "ok");

export const retryCases: Case[] = [
  {
    id: "retry-gateway-error",
    description: "retry_on gateway-error, 2 retries: a 502, a 504, then a 200: three attempts",
    config: retrying({ retry_on: "gateway-error", num_retries: 2 }),
    exchange: h1(get("/")),
    upstream: [resp("502 Bad Gateway", [], "bad"), resp("504 Gateway Timeout", [], "late"), ok],
    stats: RETRY_STATS,
  },
  {
    id: "retry-gateway-error-not-500",
    description: "retry_on gateway-error: a 500 is not a gateway error, passed down as it is",
    config: retrying({ retry_on: "gateway-error", num_retries: 2 }),
    exchange: h1(get("/")),
    upstream: [resp("500 Internal Server Error", [], "oops"), ok],
    stats: RETRY_STATS,
  },
  {
    id: "retry-retriable-4xx",
    description: "retry_on retriable-4xx: a 409 is retried, a 200 follows",
    config: retrying({ retry_on: "retriable-4xx", num_retries: 1 }),
    exchange: h1(get("/")),
    upstream: [resp("409 Conflict", [], "conflict"), ok],
    stats: RETRY_STATS,
  },
  {
    id: "retry-retriable-4xx-not-404",
    description: "retry_on retriable-4xx: only 409 is retriable; a 404 is passed down",
    config: retrying({ retry_on: "retriable-4xx", num_retries: 1 }),
    exchange: h1(get("/")),
    upstream: [resp("404 Not Found", [], "nope"), ok],
  },
  {
    id: "retry-retriable-headers",
    description:
      "retry_on retriable-headers: a 200 carrying `x-retry-me` is retried, the next one passed down",
    config: retrying({
      retry_on: "retriable-headers",
      num_retries: 1,
      retriable_headers: [{ name: "x-retry-me", present_match: true }],
    }),
    exchange: h1(get("/")),
    upstream: [resp("200 OK", ["x-retry-me: yes"], "again"), ok],
    stats: RETRY_STATS,
  },
  {
    id: "retry-attempt-count-headers",
    description:
      "include_request_attempt_count and include_attempt_count_in_response: the upstream sees attempts 1, 2, 3, the client 3",
    config: retrying(
      { retry_on: "5xx", num_retries: 2 },
      { vhost: { include_request_attempt_count: true, include_attempt_count_in_response: true } },
    ),
    exchange: h1(get("/")),
    upstream: [resp("503 Service Unavailable", [], "busy"), resp("503 Service Unavailable", [], "busy"), ok],
    stats: RETRY_STATS,
  },
  {
    id: "retry-attempt-count-exhausted",
    description:
      "the attempt count headers when every attempt fails: the last 503 carries x-envoy-attempt-count 2",
    config: retrying(
      { retry_on: "5xx", num_retries: 1 },
      { vhost: { include_request_attempt_count: true, include_attempt_count_in_response: true } },
    ),
    exchange: h1(get("/")),
    upstream: [resp("503 Service Unavailable", [], "busy")],
    stats: RETRY_STATS,
  },
  {
    id: "retry-request-headers-retriable-status",
    description:
      "x-envoy-retry-on: retriable-status-codes with x-envoy-retriable-status-codes: 418 from an internal client",
    config: config(),
    exchange: h1(
      get(
        "/",
        "x-envoy-retry-on: retriable-status-codes",
        "x-envoy-retriable-status-codes: 418",
        "x-envoy-max-retries: 1",
      ),
    ),
    upstream: [resp("418 I'm a teapot", [], "tea"), ok],
    stats: RETRY_STATS,
  },
  {
    id: "retry-refused-stream",
    description: "h2 upstream, retry_on refused-stream: a RST_STREAM(REFUSED_STREAM), then a 200",
    config: retrying({ retry_on: "refused-stream", num_retries: 1 }, {}, "raw_h2"),
    exchange: h1(get("/")),
    upstream: [{ reset: true, refusedStream: true }, { h2: { status: 200, body: "ok" } }],
    stats: ["cluster.raw_h2.upstream_rq_retry_backoff_exponential"],
  },
  {
    id: "retry-5xx-covers-refused-stream",
    description:
      "h2 upstream, retry_on 5xx: 5xx includes resets, so a RST_STREAM(REFUSED_STREAM) is retried too",
    config: retrying({ retry_on: "5xx", num_retries: 1 }, {}, "raw_h2"),
    exchange: h1(get("/")),
    upstream: [{ reset: true, refusedStream: true }, { h2: { status: 200, body: "ok" } }],
  },
  {
    id: "retry-envoy-ratelimited",
    description: "retry_on envoy-ratelimited: a 429 carrying x-envoy-ratelimited is retried, a 200 follows",
    config: retrying({ retry_on: "envoy-ratelimited", num_retries: 1 }),
    exchange: h1(get("/")),
    upstream: [resp("429 Too Many Requests", ["x-envoy-ratelimited: true"], "slow down"), ok],
    stats: RETRY_STATS,
  },
  {
    id: "retry-rate-limited-back-off",
    description:
      "rate_limited_retry_back_off on retry-after (seconds): a 503 with retry-after: 1 is retried after it (backoff_ratelimited)",
    config: retrying({
      retry_on: "retriable-status-codes",
      retriable_status_codes: [503],
      num_retries: 1,
      rate_limited_retry_back_off: {
        reset_headers: [{ name: "retry-after", format: "SECONDS" }],
        max_interval: "2s",
      },
    }),
    exchange: h1(get("/")),
    upstream: [resp("503 Service Unavailable", ["retry-after: 1"], "later"), ok],
    stats: RETRY_STATS,
  },
  {
    id: "retry-back-off",
    description: "retry_back_off base 0.05 s, max 0.1 s: two retries after back-offs, then a 200",
    config: retrying({
      retry_on: "5xx",
      num_retries: 2,
      retry_back_off: { base_interval: "0.05s", max_interval: "0.1s" },
    }),
    exchange: h1(get("/")),
    upstream: [resp("503 Service Unavailable", [], "busy"), resp("503 Service Unavailable", [], "busy"), ok],
    stats: RETRY_STATS,
  },
];
