/**
 * Outlier detection (issue 12) on the `raw` cluster's one host: consecutive 5xx, consecutive gateway
 * failures and consecutive local-origin failures eject it at once; `max_ejection_percent` and
 * `always_eject_one_host` decide whether the only host may go; the panic threshold decides what an
 * ejected cluster does with the next request. Each case has its own config (an ejection lasts
 * base_ejection_time, 30 s, longer than a case). Compared: the responses, `outlier_detection.*`
 * stats, `lb_healthy_panic`, `membership_healthy`, and the host's `health_flags` in `/clusters`.
 */
import { config } from "../config.js";
import type { Case, Doc } from "../types.js";
import { get, h1, resp } from "./util.js";

/** The raw cluster with `outlier` detection (interval 10 s: only the consecutive detectors act within a case). */
function detecting(outlier: Doc, panicThreshold: number | null = 0, raw: Doc = {}): Doc {
  return config({
    rawCluster: {
      outlier_detection: {
        interval: "10s",
        base_ejection_time: "30s",
        max_ejection_percent: 100,
        ...outlier,
      },
      common_lb_config: {
        // health changes reach Envoy's balancer at once, as ours (docs/ENVOY-DIFFERENCES.md)
        update_merge_window: "0s",
        ...(panicThreshold === null ? {} : { healthy_panic_threshold: { value: panicThreshold } }),
      },
      ...raw,
    },
  });
}

const OUTLIER_STATS = [
  "cluster.raw.outlier_detection.",
  "cluster.raw.lb_healthy_panic",
  "cluster.raw.membership_healthy",
];
/** The host's flags, and the success rates outlier detection computes (-1 until a success-rate interval ran). */
const FLAGS = ["raw::health_flags", "raw::success_rate", "raw::local_origin_success_rate"];
const busy = resp("503 Service Unavailable", [], "busy");
const ok = resp("200 OK", [], "ok");
const closing = {
  ...resp("503 Service Unavailable", ["connection: close"], "busy"),
  after: "close" as const,
};

export const outlierCases: Case[] = [
  {
    id: "outlier-consecutive-5xx-eject",
    description:
      "consecutive_5xx 3: three 503s eject the only host; the 4th request gets 503 `no healthy upstream` (panic threshold 0)",
    config: detecting({ consecutive_5xx: 3 }),
    exchange: h1(get("/")),
    repeat: 4,
    upstream: [busy, busy, busy, ok],
    stats: OUTLIER_STATS,
    clusters: FLAGS,
  },
  {
    id: "outlier-consecutive-5xx-eject-no-idle-connection",
    description:
      "consecutive_5xx 3, each 503 with connection: close (no idle connection is left to the host): ejected; then 503 UH",
    config: detecting({ consecutive_5xx: 3, base_ejection_time: "32s" }),
    exchange: h1(get("/")),
    repeat: 4,
    upstream: [closing, closing, closing, ok],
    stats: OUTLIER_STATS,
    clusters: FLAGS,
  },
  {
    id: "outlier-consecutive-5xx-reset-by-success",
    description: "consecutive_5xx 3: 503, 503, 200, 503, 503: a success resets the count, nothing is ejected",
    config: detecting({ consecutive_5xx: 3, base_ejection_time: "31s" }),
    exchange: h1(get("/")),
    repeat: 5,
    upstream: [busy, busy, ok, busy, busy],
    stats: OUTLIER_STATS,
    clusters: FLAGS,
  },
  {
    id: "outlier-ejected-panic",
    description:
      "consecutive_5xx 2, default panic threshold (50 %): the ejected only host still gets the 3rd request (panic routing)",
    config: detecting({ consecutive_5xx: 2 }, null),
    exchange: h1(get("/")),
    repeat: 3,
    upstream: [busy, busy, ok],
    stats: OUTLIER_STATS,
    clusters: FLAGS,
  },
  {
    id: "outlier-gateway-failure",
    description:
      "consecutive_gateway_failure 2 (enforcing 100 %), consecutive_5xx 10: two 502s eject the host; then 503 UH",
    config: detecting({
      consecutive_5xx: 10,
      consecutive_gateway_failure: 2,
      enforcing_consecutive_gateway_failure: 100,
    }),
    exchange: h1(get("/")),
    repeat: 3,
    upstream: [resp("502 Bad Gateway", [], "bad"), resp("502 Bad Gateway", [], "bad"), ok],
    stats: OUTLIER_STATS,
    clusters: FLAGS,
  },
  {
    id: "outlier-gateway-failure-not-enforced",
    description:
      "consecutive_gateway_failure 2 with its default enforcement (0 %): detected, counted, not ejected",
    config: detecting({ consecutive_5xx: 10, consecutive_gateway_failure: 2 }),
    exchange: h1(get("/")),
    repeat: 3,
    upstream: [resp("502 Bad Gateway", [], "bad"), resp("502 Bad Gateway", [], "bad"), ok],
    stats: OUTLIER_STATS,
    clusters: FLAGS,
  },
  {
    id: "outlier-max-ejection-percent-0",
    description:
      "max_ejection_percent 0: three 503s would eject the only host, but no host may go (ejections_overflow)",
    config: detecting({ consecutive_5xx: 3, max_ejection_percent: 0 }),
    exchange: h1(get("/")),
    repeat: 4,
    upstream: [busy, busy, busy, ok],
    stats: OUTLIER_STATS,
    clusters: FLAGS,
  },
  {
    id: "outlier-always-eject-one-host",
    description: "max_ejection_percent 0 with always_eject_one_host: the only host is ejected anyway",
    config: detecting({ consecutive_5xx: 3, max_ejection_percent: 0, always_eject_one_host: true }),
    exchange: h1(get("/")),
    repeat: 4,
    upstream: [busy, busy, busy, ok],
    stats: OUTLIER_STATS,
    clusters: FLAGS,
  },
  {
    id: "outlier-local-origin",
    description:
      "split_external_local_origin_errors, consecutive_local_origin_failure 2, the host's port closed: two connect failures eject it",
    config: detecting({ split_external_local_origin_errors: true, consecutive_local_origin_failure: 2 }, 0, {
      load_assignment: {
        cluster_name: "raw",
        endpoints: [
          {
            lb_endpoints: [
              { endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: "@refused" } } } },
            ],
          },
        ],
      },
    }),
    exchange: h1(get("/")),
    repeat: 3,
    stats: OUTLIER_STATS,
    clusters: FLAGS,
  },
];
