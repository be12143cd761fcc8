/** Every feature a target can claim, with what it means in words (reports and `--list` print these). */
import type { Feature } from "./types.js";

export const FEATURES: Record<Feature, string> = {
  "round-robin": "requests rotate over a cluster's hosts in turn, fairly, fresh connections or reused",
  weighted: "a route splits traffic between clusters by weight (70/30)",
  "lb-weights": "hosts of one cluster get traffic in proportion to their weights (3:1)",
  "dns-membership": "backends joining or leaving a DNS name get (or stop getting) traffic at runtime",
  "h2-upstream": "HTTP/1.1 in, HTTP/2 (h2c, prior knowledge) to the upstream",
  "h2-downstream": "HTTP/2 (h2c, prior knowledge) in, HTTP/1.1 to the upstream",
  mesh: "the seed's mesh: front -> h2c -> sidecar -> HTTP/1.1 -> echo, headers and bodies intact",
  headers: "end-to-end headers pass, hop-by-hop ones do not, Host and X-Forwarded-For as RFC 9110 says",
  "envoy-headers": "headers Envoy adds (x-forwarded-proto, x-request-id, x-envoy-expected-rq-timeout-ms)",
  framing: "request and response bodies of every framing (length, chunked, large) arrive intact",
  websocket: "WebSocket upgrades pass over HTTP/1.1 hops, messages both ways, closes propagate",
  "websocket-over-h2": "WebSockets pass across an HTTP/2 hop (the mesh: RFC 8441 or a raw upgrade)",
  "local-replies": "the proxy answers itself as Envoy does: 404 no route, 503 all hosts down, 504 timeout",
  "health-check": "active health checks take hosts out and back (Envoy's health_checks and /clusters flags)",
  outlier: "outlier detection ejects a failing host and returns it (Envoy's outlier_detection)",
  "circuit-breaker": "circuit breakers refuse load past their limits with 503 (Envoy's circuit_breakers)",
  retries: "retry policies retry what they name and nothing else (Envoy's retry_policy)",
  reload: "new routes and clusters from LDS/CDS files apply without dropping traffic",
  tls: "TLS at the front (certificate, ALPN h2, x-forwarded-proto https), mutual TLS on the mesh's h2 hop, wrong client certificates refused",
};

/** Every feature, in the order reports list them. */
export const ALL_FEATURES = Object.keys(FEATURES) as Feature[];
