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
  | "preflight"
  | "redirect"
  | "bad_request"
  | "not_found";

/** Prometheus metrics of one echo instance, in its own registry (several instances may share a process). */
export class EchoMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: "echo_requests_total",
    help: "HTTP requests answered, by route, status (or 'reset') and protocol.",
    labelNames: ["route", "status", "protocol"] as const,
    registers: [this.registry],
  });
  private readonly websockets = new Gauge({
    name: "echo_websockets_open",
    help: "WebSocket connections currently open, by protocol.",
    labelNames: ["protocol"] as const,
    registers: [this.registry],
  });
  private readonly wsMessages = new Counter({
    name: "echo_websocket_messages_total",
    help: "WebSocket messages echoed, by protocol.",
    labelNames: ["protocol"] as const,
    registers: [this.registry],
  });
  /** Children cached by label tuple: no label hashing on the hot path. */
  private readonly children = new Map<string, Counter.Internal>();

  constructor(defaultMetrics = true) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  request(route: RouteLabel, status: number | "reset", protocol: string): void {
    const key = `${route} ${status} ${protocol}`;
    let child = this.children.get(key);
    if (child === undefined) {
      child = this.requests.labels(route, String(status), protocol);
      this.children.set(key, child);
    }
    child.inc();
  }

  websocketOpened(protocol: string): void {
    this.websockets.labels(protocol).inc();
  }

  websocketClosed(protocol: string): void {
    this.websockets.labels(protocol).dec();
  }

  websocketMessage(protocol: string): void {
    this.wsMessages.labels(protocol).inc();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
