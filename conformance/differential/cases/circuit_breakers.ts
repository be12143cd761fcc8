/**
 * Circuit breakers (issue 12): `circuit_breakers.thresholds` on the `raw` cluster, concurrency from
 * requests sent 100 ms apart on their own connections while the upstream holds the first answer.
 * Overflow is Envoy's local reply: 503, `x-envoy-overloaded: true`, flag UO; compared with the
 * `upstream_rq_pending_overflow`, `upstream_cx_overflow`, `upstream_rq_retry_overflow` stats and
 * the `circuit_breakers.default.*` gauges (back to 0 once the case is over).
 */
import { config } from "../config.js";
import type { Case, Doc } from "../types.js";
import { get, h1, resp } from "./util.js";

function breakers(thresholds: Doc, route: Doc = {}): Doc {
  return config({
    routes: [{ match: { prefix: "/" }, route: { cluster: "raw", ...route } }],
    rawCluster: { circuit_breakers: { thresholds: [thresholds] } },
  });
}

const CB_STATS = ["cluster.raw.upstream_cx_overflow", "cluster.raw.circuit_breakers.default."];

/** The first answer held 600 ms, so the requests after it arrive while it is in flight. */
const SLOW_FIRST = [{ ...resp("200 OK", [], "slow"), delayMs: 600 }, resp("200 OK", [], "ok")];

export const circuitBreakerCases: Case[] = [
  {
    id: "cb-max-requests-overflow",
    description: "max_requests 1, two requests at once: the second is refused, 503 x-envoy-overloaded (UO)",
    config: breakers({ max_requests: 1 }),
    exchange: [h1(get("/first")), h1(get("/second"))],
    staggerMs: 100,
    upstream: SLOW_FIRST,
    stats: CB_STATS,
  },
  {
    id: "cb-max-pending-overflow",
    description:
      "max_connections 1, max_pending_requests 1, three requests at once: one in flight, one pending (served after), one refused",
    config: breakers({ max_connections: 1, max_pending_requests: 1 }),
    exchange: [h1(get("/first")), h1(get("/second")), h1(get("/third"))],
    staggerMs: 100,
    upstream: SLOW_FIRST,
    stats: CB_STATS,
  },
  {
    id: "cb-max-connections-queue",
    description:
      "max_connections 1, two requests at once: the second waits for the one connection (upstream_cx_overflow), both 200",
    config: breakers({ max_connections: 1 }),
    exchange: [h1(get("/first")), h1(get("/second"))],
    staggerMs: 100,
    upstream: SLOW_FIRST,
    stats: CB_STATS,
  },
  {
    id: "cb-max-retries-overflow",
    description:
      "max_retries 0 and retry_on 5xx: the retry is refused (upstream_rq_retry_overflow), the 503 passed down",
    config: breakers(
      { max_retries: 0 },
      { retry_policy: { retry_on: "5xx", num_retries: 2, per_try_timeout: "1s" } },
    ),
    exchange: h1(get("/")),
    upstream: [resp("503 Service Unavailable", [], "busy"), resp("200 OK", [], "ok")],
    stats: CB_STATS,
  },
];
