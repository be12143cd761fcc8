import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";

/** Route labels are a closed set so label cardinality stays bounded whatever paths clients send. */
export type RouteLabel =
  | "/"
  | "/hello"
  | "/echo"
  | "/ws"
  | "/_echo/health"
  | "/_echo/fail"
  | "/metrics"
  | "/status"
  | "anything"
  | "preflight"
  | "redirect"
  | "bad_request"
  | "not_found";

/** Requests answered with one (route, status, protocol) label set; counted here, read at scrape time. */
interface Tally {
  readonly route: RouteLabel;
  readonly status: string;
  readonly protocol: string;
  count: number;
  /** What the Prometheus counter has been told so far. */
  reported: number;
}

/**
 * Prometheus metrics of one echo instance, in its own registry (several instances may share a process).
 * Request counts are plain numbers in nested maps keyed by constant strings and small integers (no
 * per-request key building, label hashing or label validation); prom-client learns them at scrape time.
 */
export class EchoMetrics {
  readonly registry = new Registry();
  /** route -> protocol -> status -> tally. */
  private readonly tallies = new Map<RouteLabel, Map<string, Map<number | "reset", Tally>>>();
  private readonly requests = new Counter({
    name: "echo_requests_total",
    help: "HTTP requests answered, by route, status (or 'reset') and protocol.",
    labelNames: ["route", "status", "protocol"] as const,
    registers: [this.registry],
    collect: () => this.reportRequests(),
  });
  private readonly websockets = new Gauge({
    name: "echo_websockets_open",
    help: "WebSocket connections currently open, by protocol.",
    labelNames: ["protocol"] as const,
    registers: [this.registry],
  });
  /** protocol -> messages echoed, and what the Prometheus counter has been told so far. */
  private readonly messages = new Map<string, { count: number; reported: number }>();
  private readonly wsMessages = new Counter({
    name: "echo_websocket_messages_total",
    help: "WebSocket messages echoed, by protocol.",
    labelNames: ["protocol"] as const,
    registers: [this.registry],
    collect: () => this.reportMessages(),
  });

  /** Bugs that reached the process guards (echo/main.ts); tests assert it stays 0. */
  readonly unexpectedErrors = new Counter({
    name: "echo_unexpected_errors_total",
    help: "Uncaught exceptions and unhandled rejections (the service keeps serving).",
    registers: [this.registry],
  });

  /** TLS handshakes that failed (no or bad client certificate, plaintext on the TLS port, ...). */
  readonly tlsHandshakeErrors = new Counter({
    name: "echo_tls_handshake_errors_total",
    help: "TLS handshakes that failed: no client certificate when one is required, a client that speaks no TLS, ...",
    registers: [this.registry],
  });

  constructor(defaultMetrics = true) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  request(route: RouteLabel, status: number | "reset", protocol: string): void {
    let byProtocol = this.tallies.get(route);
    if (byProtocol === undefined) {
      byProtocol = new Map();
      this.tallies.set(route, byProtocol);
    }
    let byStatus = byProtocol.get(protocol);
    if (byStatus === undefined) {
      byStatus = new Map();
      byProtocol.set(protocol, byStatus);
    }
    const tally = byStatus.get(status);
    if (tally === undefined)
      byStatus.set(status, { route, status: String(status), protocol, count: 1, reported: 0 });
    else tally.count++;
  }

  /** Hands the counts gathered since the last scrape to the Prometheus counters. */
  private reportMessages(): void {
    for (const [protocol, t] of this.messages) {
      if (t.count === t.reported) continue;
      this.wsMessages.inc({ protocol }, t.count - t.reported);
      t.reported = t.count;
    }
  }

  private reportRequests(): void {
    for (const byProtocol of this.tallies.values()) {
      for (const byStatus of byProtocol.values()) {
        for (const t of byStatus.values()) {
          if (t.count === t.reported) continue;
          this.requests.inc({ route: t.route, status: t.status, protocol: t.protocol }, t.count - t.reported);
          t.reported = t.count;
        }
      }
    }
  }

  websocketOpened(protocol: string): void {
    this.websockets.labels(protocol).inc();
  }

  websocketClosed(protocol: string): void {
    this.websockets.labels(protocol).dec();
  }

  websocketMessage(protocol: string): void {
    const tally = this.messages.get(protocol);
    if (tally === undefined) this.messages.set(protocol, { count: 1, reported: 0 });
    else tally.count++;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
