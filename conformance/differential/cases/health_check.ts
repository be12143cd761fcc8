/**
 * Active health checking (issue 12): an HTTP health check on the `raw` cluster's one host (`GET
 * /healthz` every 0.1 s, no_traffic_interval 0.1 s), answered by the recording upstream from the
 * case's status sequence. Compared: the health check request itself (line, Host, user-agent, every
 * header), the host's `health_flags` in `/clusters`, the `health_check.*` stats that do not move
 * with time (`failure` once the sequence turns healthy, the `healthy` gauge), `membership_healthy`,
 * `lb_healthy_panic`, and what the next request gets: 503 `no healthy upstream` with the panic
 * threshold at 0, the host anyway (panic routing) at the default 50 %. `update_merge_window: 0s`:
 * with Envoy's default (1 s) its balancer saw a host back up to a second after the check passed
 * (measured: still `no healthy upstream` 3 passing checks later, 0.33 s), ours at once; a case also
 * waits one check more than the threshold before sending.
 */
import { config } from "../config.js";
import type { Case, Doc } from "../types.js";
import { get, h1 } from "./util.js";

function checked(check: Doc, panicThreshold: number | null = 0): Doc {
  return config({
    rawCluster: {
      health_checks: [
        {
          timeout: "1s",
          interval: "0.1s",
          no_traffic_interval: "0.1s",
          unhealthy_threshold: 2,
          healthy_threshold: 1,
          http_health_check: { path: "/healthz" },
          ...check,
        },
      ],
      common_lb_config: {
        // health changes reach Envoy's balancer at once, as ours (docs/ENVOY-DIFFERENCES.md)
        update_merge_window: "0s",
        ...(panicThreshold === null ? {} : { healthy_panic_threshold: { value: panicThreshold } }),
      },
    },
  });
}

const HC_STATS = [
  "cluster.raw.health_check.healthy",
  "cluster.raw.membership_healthy",
  "cluster.raw.lb_healthy_panic",
];
const FAILURES = "cluster.raw.health_check.failure";
const FLAGS = ["raw::health_flags"];

export const healthCheckCases: Case[] = [
  {
    id: "hc-fails-unhealthy",
    description:
      "unhealthy_threshold 2, the check answers 503: the host is /failed_active_hc; a request gets 503 `no healthy upstream`",
    config: checked({}),
    exchange: h1(get("/")),
    healthCheck: [503],
    waitBefore: { stat: FAILURES, atLeast: 3 },
    stats: HC_STATS,
    clusters: FLAGS,
  },
  {
    id: "hc-fails-then-recovers",
    description:
      "the check answers 503, 503, then 200 (healthy_threshold 1): two failures, the host is back, the request gets a 200",
    config: checked({ unhealthy_threshold: 2, interval: "0.11s" }),
    exchange: h1(get("/")),
    healthCheck: [503, 503, 200],
    // two failures (the host leaves), then passing checks (at least two after the failures)
    waitBefore: [
      { stat: FAILURES, atLeast: 2 },
      { stat: "cluster.raw.health_check.success", atLeast: 3 },
    ],
    stats: [...HC_STATS, FAILURES],
    clusters: FLAGS,
  },
  {
    id: "hc-request-shape",
    description:
      "http_health_check host, request_headers_to_add and request_headers_to_remove: the check request as the upstream sees it",
    config: checked({
      http_health_check: {
        path: "/healthz",
        host: "health.example",
        request_headers_to_add: [{ header: { key: "x-hc", value: "1" } }],
        request_headers_to_remove: ["user-agent"],
      },
    }),
    exchange: h1(get("/")),
    healthCheck: [200],
    waitBefore: { stat: "cluster.raw.health_check.success", atLeast: 2 },
    stats: HC_STATS,
    clusters: FLAGS,
  },
  {
    id: "hc-unhealthy-panic",
    description:
      "default panic threshold (50 %): with its only host failing the check, the cluster routes to it anyway (lb_healthy_panic)",
    config: checked({}, null),
    exchange: h1(get("/")),
    healthCheck: [503],
    waitBefore: { stat: FAILURES, atLeast: 3 },
    stats: HC_STATS,
    clusters: FLAGS,
  },
  {
    id: "hc-expected-statuses",
    description: "expected_statuses [200, 205): a 204 passes the check, the host stays healthy",
    config: checked({
      http_health_check: { path: "/healthz", expected_statuses: [{ start: 200, end: 205 }] },
    }),
    exchange: h1(get("/")),
    healthCheck: [204],
    waitBefore: { stat: "cluster.raw.health_check.success", atLeast: 3 },
    stats: HC_STATS,
    clusters: FLAGS,
  },
  {
    id: "hc-unexpected-status",
    description: "default expected status (200 only): a 204 fails the check, the host goes unhealthy",
    config: checked({ interval: "0.12s" }),
    exchange: h1(get("/")),
    healthCheck: [204],
    waitBefore: { stat: FAILURES, atLeast: 3 },
    stats: HC_STATS,
    clusters: FLAGS,
  },
];
