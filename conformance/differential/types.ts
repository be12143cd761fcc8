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
  /** HTTP/1.1: these bytes, written once the request is complete; `after`: then a close (FIN) or a reset. */
  | { raw: string; after?: "close" | "reset" }
  /** h2: this response on the stream. */
  | { h2: { status: number; headers?: Field[]; body?: string; trailers?: Field[] } }
  /** HTTP/1.1: a TCP reset; h2: RST_STREAM (INTERNAL_ERROR), once the request is complete. */
  | { reset: true }
  /** HTTP/1.1: close the connection (FIN) without an answer. */
  | { close: true }
  /** Never answer (timeouts). */
  | { silent: true };

/** One differential case: a config and one exchange (tests as data). */
export interface Case {
  /** Stable, kebab-case; named by docs/ENVOY-DIFFERENCES.md and known.ts. */
  id: string;
  description: string;
  /** Envoy v3 bootstrap with port tokens (config.ts); cases with equal configs share one Envoy and one proxy. */
  config: Doc;
  exchange: Exchange;
  /** The recording upstream's answers, by request index within the case (default: one 200 `ok`). */
  upstream?: Answer[];
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
}

/** A compared field whose values differ. */
export interface Difference {
  field: string;
  envoy: string;
  echomesh: string;
}
