/**
 * What an access log line is made from: one downstream request/response exchange, filled in by the
 * HTTP connection manager (proxy/http/) when the stream ends, and by the admin listener.
 *
 * Only built when an access log is configured, so it costs nothing otherwise.
 */
export interface AccessLogEntry {
  /** Time the first byte of the request arrived, ms since the epoch. */
  startTime: number;
  /** `:method`. */
  method: string;
  /** `:path` as received from downstream (with the query). */
  path: string;
  /** `:authority` (HTTP/2) or `Host` (HTTP/1.x); "" when absent. */
  authority: string;
  /** `:scheme`: "http" for this proxy. */
  scheme: string;
  /** `HTTP/1.0`, `HTTP/1.1` or `HTTP/2`. */
  protocol: string;
  /** Downstream request headers as Node's rawHeaders (`[name, value, ...]`, any case). */
  requestHeaders: readonly string[];
  /** Response headers as sent downstream, or null if no response was sent. */
  responseHeaders: readonly string[] | null;
  responseTrailers: readonly string[] | null;
  /** 0 when no response was sent (downstream went away first). */
  responseCode: number;
  /** `%RESPONSE_CODE_DETAILS%`, e.g. `via_upstream`, `route_not_found`; null = unset. */
  responseCodeDetails: string | null;
  /** Envoy's short flags (`UH`, `UF`, `URX`, `NR`, `UT`, `DC`...); empty = none ("-"). */
  responseFlags: readonly string[];
  /** Request body bytes received from downstream. */
  bytesReceived: number;
  /** Response body bytes sent downstream. */
  bytesSent: number;
  /** Start to the last byte sent downstream, ms. */
  durationMs: number;
  /** `ip:port` of the chosen upstream host, null if none. */
  upstreamHost: string | null;
  upstreamCluster: string | null;
  /** `ip:port` of the downstream peer / the local socket. */
  downstreamRemoteAddress: string | null;
  downstreamLocalAddress: string | null;
  routeName: string | null;
}
