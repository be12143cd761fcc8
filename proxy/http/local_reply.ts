/**
 * Envoy's local reply texts (router.cc, conn_manager_impl.cc) and response flags
 * (access log `%RESPONSE_FLAGS%`). Bodies are sent as `text/plain`; an empty body sends no content-type.
 */
import type { ResetReason } from "../conn_pool/types.js";

export const NO_HEALTHY_UPSTREAM = "no healthy upstream";
export const UPSTREAM_TIMEOUT = "upstream request timeout";

/**
 * `upstream connect error or disconnect/reset before headers. [retried and the latest ]reset reason: <reason>`
 * (Envoy 1.10-1.21 wording; newer versions append `, transport failure reason: ...` with Envoy's own
 * socket error strings, which a Node proxy cannot reproduce).
 */
export function upstreamResetBody(reason: ResetReason, retried: boolean): string {
  return `upstream connect error or disconnect/reset before headers. ${retried ? "retried and the latest " : ""}reset reason: ${reason}`;
}

/** Status of the local reply for an upstream failure before response headers. */
export function upstreamResetStatus(reason: ResetReason): number {
  return reason === "protocol error" ? 502 : 503;
}

/** Envoy's response flag for a reset reason. */
export function resetFlag(reason: ResetReason): ResponseFlag {
  switch (reason) {
    case "connection failure":
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

/** `%RESPONSE_CODE_DETAILS%` for a reset reason: `upstream_reset_before_response_started{connection_failure}`. */
export function resetDetails(reason: ResetReason, started: boolean): string {
  const r = reason.replace(/ /g, "_");
  return started
    ? `upstream_reset_after_response_started{${r}}`
    : `upstream_reset_before_response_started{${r}}`;
}

/** The flags this proxy can set (Envoy's short names). */
export type ResponseFlag =
  | "NR" // no route
  | "NC" // cluster not found
  | "UH" // no healthy upstream
  | "UF" // upstream connection failure
  | "UC" // upstream connection termination
  | "UR" // upstream remote reset
  | "LR" // local reset
  | "UO" // upstream overflow
  | "UPE" // upstream protocol error
  | "UT" // upstream request timeout
  | "URX" // retry limit reached
  | "DC" // downstream connection termination
  | "SI" // stream idle timeout
  | "DPE"; // downstream protocol error
