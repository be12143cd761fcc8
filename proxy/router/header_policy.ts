/**
 * The x-envoy-* request headers that steer the router (Envoy's `FilterUtility::finalTimeout` and
 * `RetryStateImpl`). Only an internal request still carries them (the connection manager removes
 * them from the others); the router consumes them: they are removed before the request goes
 * upstream, as measured against Envoy 1.40 (a client in `internal_address_config`).
 */

import type { RawHeaders } from "../api/headers.js";
import type { RetryPolicy } from "../config/model.js";

/** What the headers ask; null = not asked. */
export interface HeaderOverrides {
  /** `x-envoy-upstream-rq-timeout-ms`: the route timeout (0 disables it). */
  timeoutMs: number | null;
  /** `x-envoy-upstream-rq-per-try-timeout-ms`. */
  perTryTimeoutMs: number | null;
  /** `x-envoy-retry-on`: conditions added to the route's. */
  retryOn: string[] | null;
  /** `x-envoy-max-retries`: replaces `num_retries`. */
  maxRetries: number | null;
  /** `x-envoy-retriable-status-codes`: codes added to the route's. */
  retriableStatusCodes: number[] | null;
  /** `x-envoy-retriable-header-names`: response headers (present) added to `retriable_headers`. */
  retriableHeaderNames: string[] | null;
  /**
   * `x-envoy-hedge-on-per-try-timeout: true`: x-envoy-expected-rq-timeout-ms then announces the
   * route timeout, not the per-try one (measured; the hedged second try itself is not implemented:
   * the per-try timeout ends the try as usual).
   */
  hedgeOnPerTryTimeout: boolean;
}

/** Consumed by the router: removed from an internal request before it goes upstream. */
const CONSUMED: ReadonlySet<string> = new Set([
  "x-envoy-upstream-rq-timeout-ms",
  "x-envoy-upstream-rq-per-try-timeout-ms",
  "x-envoy-retry-on",
  "x-envoy-max-retries",
  "x-envoy-retriable-status-codes",
  "x-envoy-retriable-header-names",
  "x-envoy-retry-grpc-on",
  "x-envoy-upstream-alt-stat-name",
  "x-envoy-upstream-rq-timeout-alt-response",
  "x-envoy-hedge-on-per-try-timeout",
  "x-envoy-upstream-stream-duration-ms",
]);

/**
 * Read and remove the router's x-envoy-* headers from `headers` (an internal request's). Returns
 * null when there were none. Invalid numbers are ignored, as Envoy ignores them.
 */
export function consumeRouterHeaders(headers: RawHeaders): HeaderOverrides | null {
  let out: HeaderOverrides | null = null;
  let w = 0;
  for (let r = 0; r < headers.length; r += 2) {
    const name = headers[r] as string;
    const value = headers[r + 1] as string;
    const lower = name.length > 8 ? name.toLowerCase() : "";
    if (!CONSUMED.has(lower)) {
      headers[w] = name;
      headers[w + 1] = value;
      w += 2;
      continue;
    }
    out ??= {
      timeoutMs: null,
      perTryTimeoutMs: null,
      retryOn: null,
      maxRetries: null,
      retriableStatusCodes: null,
      retriableHeaderNames: null,
      hedgeOnPerTryTimeout: false,
    };
    switch (lower) {
      case "x-envoy-upstream-rq-timeout-ms":
        out.timeoutMs = milliseconds(value) ?? out.timeoutMs;
        break;
      case "x-envoy-upstream-rq-per-try-timeout-ms":
        out.perTryTimeoutMs = milliseconds(value) ?? out.perTryTimeoutMs;
        break;
      case "x-envoy-max-retries":
        out.maxRetries = milliseconds(value) ?? out.maxRetries;
        break;
      case "x-envoy-hedge-on-per-try-timeout":
        out.hedgeOnPerTryTimeout = value.trim() === "true";
        break;
      case "x-envoy-retry-on":
        out.retryOn = [...(out.retryOn ?? []), ...list(value)];
        break;
      case "x-envoy-retriable-header-names":
        out.retriableHeaderNames = [...(out.retriableHeaderNames ?? []), ...list(value)];
        break;
      case "x-envoy-retriable-status-codes":
        out.retriableStatusCodes = [
          ...(out.retriableStatusCodes ?? []),
          ...list(value)
            .map(Number)
            .filter((n) => Number.isInteger(n) && n >= 100 && n <= 599),
        ];
        break;
    }
  }
  headers.length = w;
  return out;
}

/**
 * The retry policy for this request: the route's, with the header's conditions and codes added and
 * `x-envoy-max-retries` replacing `num_retries` (default 1 when only the headers ask for retries).
 */
export function mergeRetryPolicy(route: RetryPolicy | null, o: HeaderOverrides): RetryPolicy | null {
  if (o.retryOn === null && route === null) return null;
  const retryOn = new Set(route?.retryOn ?? []);
  for (const c of o.retryOn ?? []) retryOn.add(c);
  const codes = new Set(route?.retriableStatusCodes ?? []);
  for (const c of o.retriableStatusCodes ?? []) codes.add(c);
  const headers = route?.retriableHeaders ?? [];
  const names = o.retriableHeaderNames ?? [];
  return {
    retryOn,
    numRetries: o.maxRetries ?? route?.numRetries ?? 1,
    perTryTimeoutMs: o.perTryTimeoutMs ?? route?.perTryTimeoutMs ?? 0,
    retriableStatusCodes: codes,
    retriableHeaders:
      names.length === 0
        ? headers
        : [...headers, ...names.map((name) => ({ name, match: PRESENT, invert: false }))],
    retriableRequestHeaders: route?.retriableRequestHeaders ?? [],
    previousHosts: route?.previousHosts ?? false,
    hostSelectionRetryMaxAttempts: route?.hostSelectionRetryMaxAttempts ?? 1,
    baseIntervalMs: route?.baseIntervalMs ?? 25,
    maxIntervalMs: route?.maxIntervalMs ?? 250,
  };
}

const PRESENT = { kind: "present", present: true } as const;

function milliseconds(value: string): number | null {
  const t = value.trim();
  return /^\d+$/.test(t) ? Number(t) : null;
}

function list(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== "");
}
