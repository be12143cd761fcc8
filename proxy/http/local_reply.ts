/**
 * Envoy's local reply texts (router.cc, conn_manager_impl.cc) and response flags
 * (access log `%RESPONSE_FLAGS%`). Bodies are sent as `text/plain`; an empty body sends no content-type.
 */

import type { ResponseFlag } from "../api/stream_info.js";
import type { ResetReason } from "../api/upstream.js";
import type { ConfigVersion } from "../config/model.js";

export const NO_HEALTHY_UPSTREAM = "no healthy upstream";
export const UPSTREAM_TIMEOUT = "upstream request timeout";

/**
 * `upstream connect error or disconnect/reset before headers. [retried and the latest ]reset reason:
 * <reason>`, the reason as the dialect's Envoy words it (Envoy 1.40 adds no transport failure reason
 * to the body: measured).
 */
export function upstreamResetBody(reason: ResetReason, retried: boolean, dialect: ConfigVersion): string {
  return `upstream connect error or disconnect/reset before headers. ${retried ? "retried and the latest " : ""}reset reason: ${resetReasonText(reason, dialect)}`;
}

/** Envoy's `resetReasonToString`: 1.40 splits a failed connect into refused and timed out; 1.7 did not. */
export function resetReasonText(reason: ResetReason, dialect: ConfigVersion): string {
  if (dialect === "v2") return reason === "connection timeout" ? "connection failure" : reason;
  return reason === "connection failure" ? "remote connection failure" : reason;
}

/** Status of the local reply for an upstream failure before response headers. */
export function upstreamResetStatus(reason: ResetReason): number {
  return reason === "protocol error" ? 502 : 503;
}

/** Envoy's response flag for a reset reason. */
export function resetFlag(reason: ResetReason): ResponseFlag {
  switch (reason) {
    case "connection failure":
    case "connection timeout":
      return "UF";
    case "connection termination":
      return "UC";
    case "remote reset":
      return "UR";
    case "local reset":
      return "LR";
    case "overflow":
      return "UO";
    case "protocol error":
      return "UPE";
  }
}

/**
 * `%RESPONSE_CODE_DETAILS%` for a reset: `upstream_reset_before_response_started{<reason>[|<transport
 * failure reason>]}`, spaces as underscores, e.g. `{remote_connection_failure|delayed_connect_error:_Connection_refused}`.
 * `detail` is the pool's; for a connection failure it is the transport failure reason.
 */
export function resetDetails(
  reason: ResetReason,
  started: boolean,
  dialect: ConfigVersion,
  detail = "",
): string {
  let r = resetReasonText(reason, dialect);
  if (reason === "connection failure" && detail !== "" && dialect === "v3") r += `|${detail}`;
  r = r.replace(/ /g, "_");
  return started
    ? `upstream_reset_after_response_started{${r}}`
    : `upstream_reset_before_response_started{${r}}`;
}
