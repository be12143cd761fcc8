/**
 * The differential tests' vocabulary: a case is one Envoy v3 config plus one exchange, sent to real
 * Envoy and to our proxy in front of the same upstreams; each side yields an Observation, and the two
 * are compared field by field (compare.ts).
 */

/** A JSON-shaped config document (Envoy v3 bootstrap, with the port tokens of config.ts). */
export type Doc = { [key: string]: unknown };

/** A header field as sent or received: [name, value], name case kept. */
export type Field = [name: string, value: string];

/**
 * Where the client connects from. `internal`: 127.0.0.1, which Envoy treats as an internal address.
 * `external`: 127.0.6.5, a loopback address Envoy does not count as internal (with
 * `use_remote_address: true` it is an edge client).
 */
export type From = "internal" | "external";

/** The addresses behind `From`. */
export const CLIENT_ADDRESS: Record<From, string> = { internal: "127.0.0.1", external: "127.0.6.5" };

/** HTTP/1.1 (or 1.0, or anything else) as raw bytes on one connection. */
export interface H1Exchange {
  kind: "h1";
  /** The bytes (latin1); a list is written part by part, `pauseMs` apart (e.g. a head, then its body). */
  send: string | string[];
  /** Pause between the parts of `send` (default 150 ms). */
  pauseMs?: number;
  from?: From;
  /** The requests are HEAD: responses carry no body whatever their headers say. */
  head?: boolean;
  /** Responses to read (default 1; 2 for two requests on one connection). */
  responses?: number;
  /** After a 101, send this text message as a masked WebSocket frame and read one frame back. */
  websocket?: string;
}

/** One h2c (prior knowledge) request on a fresh connection. */
export interface H2Exchange {
  kind: "h2";
  /** Request headers, pseudo-headers included (`:method`, `:path`, `:authority`, `:scheme`). */
  headers: Field[];
  body?: string;
  trailers?: Field[];
  from?: From;
}

export type Exchange = H1Exchange | H2Exchange;

/**
 * What the recording upstream answers to the n-th request of a case (the last answer repeats). HTTP/1.1
 * answers are raw bytes; h2 answers are structured (HPACK makes bytes meaningless to compare).
 */
export type Answer =
  /**
   * HTTP/1.1: these bytes, written once the request is complete (`delayMs` later: a slow upstream);
   * `after`: then a close (FIN) or a reset.
   */
  | { raw: string; after?: "close" | "reset"; delayMs?: number }
  /** h2: this response on the stream. */
  | { h2: { status: number; headers?: Field[]; body?: string; trailers?: Field[] } }
  /** HTTP/1.1: a TCP reset; h2: RST_STREAM (INTERNAL_ERROR, or REFUSED_STREAM), once the request is complete. */
  | { reset: true; refusedStream?: boolean }
  /** HTTP/1.1: close the connection (FIN) without an answer. */
  | { close: true }
  /** Never answer (timeouts). */
  | { silent: true };

/** One differential case: a config and one exchange, or several (tests as data). */
export interface Case {
  /** Stable, kebab-case; named by docs/ENVOY-DIFFERENCES.md and known.ts. */
  id: string;
  description: string;
  /** Envoy v3 bootstrap with port tokens (config.ts); cases with equal configs share one Envoy and one proxy. */
  config: Doc;
  /** One exchange, or a list sent one after the other (each on its own connection). */
  exchange: Exchange | Exchange[];
  /** Send the exchange (list) this many times in order (default 1). */
  repeat?: number;
  /**
   * Send the exchanges at once instead of one after the other, the i-th `i * staggerMs` after the
   * first (so the proxy sees them in order): concurrency for circuit breakers.
   */
  staggerMs?: number;
  /** The recording upstream's answers, by request index within the case (default: one 200 `ok`). */
  upstream?: Answer[];
  /**
   * The statuses the recording upstream answers to HTTP/1.1 active health checks (`GET /healthz`, config.ts
   * HEALTH_PATH), by check index from the case's start (the last repeats until the next case; before
   * a config's first case: 200). Health checks are not part of `upstream`: the first one of the case
   * is observed as `healthcheck`.
   */
  healthCheck?: number[];
  /**
   * Before sending: wait (at most `withinMs`, default 5 s) until `stat` (a canonical name) has moved
   * by `atLeast` since the case began (a list: each in turn).
   */
  waitBefore?: StatWait | StatWait[];
  /** After the exchanges, before observing: the same wait. */
  waitAfter?: StatWait | StatWait[];
  /**
   * Stats compared besides stats.ts's list (their deltas): canonical names, or prefixes ending in `.`
   * (`cluster.raw.outlier_detection.`). Counters that move with time (health check attempts) belong
   * in no case's list.
   */
  stats?: string[];
  /**
   * `/clusters` host lines compared by value at the end of the case: `<cluster>::<stat>` (e.g.
   * `raw::health_flags`, `raw::cx_total`), one field per host, in address order.
   */
  clusters?: string[];
}

/** A bounded wait for a stat (canonical name, stats.ts) to move by `atLeast` from the case's start. */
export interface StatWait {
  stat: string;
  atLeast: number;
  withinMs?: number;
}

/** A request as an upstream received it. */
export interface UpstreamRequest {
  /** `raw`: the recording upstream; `echo`: the echo service, recorded by the forwarder in front of it. */
  upstream: "raw" | "echo";
  protocol: "HTTP/1.1" | "HTTP/2";
  /** HTTP/1.1: the request line as received; h2: `:method :path`. */
  line: string;
  /** Header fields in arrival order, names as received (h2: pseudo-headers included). */
  headers: Field[];
  /** HTTP/1.1: the body bytes with their framing (chunk sizes, last chunk, trailers); h2: DATA payload. */
  body: string;
  /** h2 trailers (HTTP/1.1 trailers are part of `body`). */
  trailers: Field[];
  /** The whole request arrived (false: the head or body was still incomplete when the case ended). */
  complete: boolean;
}

/** One final response as the client saw it. */
export interface Response {
  status: number;
  /** 1xx responses before it (100 Continue). */
  interim: number[];
  /** Header fields as received, names as sent. */
  headers: Field[];
  /** Decoded body (latin1). */
  body: string;
  trailers: Field[];
}

/** What one proxy did with one case. */
export interface Observation {
  /** Set when the proxy did not start on the case's config (nothing else is compared then). */
  start?: string;
  /** Every final response, in order (two for two requests on one connection). */
  responses: Response[];
  /** How the exchange ended when it did not end cleanly (no response, a reset stream); "" otherwise. */
  error: string;
  /** The proxy closed the downstream connection after the response. */
  closed: boolean;
  /** After a 101: the WebSocket frame that came back ("text:<message>", "close:<code>", "" for none). */
  websocket: string;
  /** Every request the upstreams received during the case. */
  upstream: UpstreamRequest[];
  /** Deltas of the compared stats (stats.ts names) that moved. */
  stats: Map<string, number>;
  /** The case's `/clusters` lines (`<cluster>::<host index>::<stat>` -> value), when it names some. */
  clusters?: Map<string, string>;
  /** The first active health check the recording upstream received during the case, if any. */
  healthcheck?: UpstreamRequest;
  /** A `waitBefore`/`waitAfter` that timed out: what was waited for and the value seen. */
  waited?: string;
}

/** A compared field whose values differ. */
export interface Difference {
  field: string;
  envoy: string;
  echomesh: string;
}
