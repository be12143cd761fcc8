/**
 * The benchmark scenarios. Each names its baseline (the first target; ratios are taken against it in
 * the same round) and the targets it runs side by side. Targets that are not installed are skipped.
 */
export type ScenarioKind = "http" | "h2c" | "latency" | "ws" | "ws-idle";

export interface Scenario {
  name: string;
  description: string;
  kind: ScenarioKind;
  /** The first is the baseline. */
  targets: string[];
  method?: "GET" | "POST";
  path?: string;
  bodyBytes?: number;
  /** `http`: a new connection for every request (over HTTPS, a TLS handshake each: handshakes per second). */
  newConnectionPerRequest?: boolean;
}

const PROXIES_H1 = [
  "echomesh",
  "envoy",
  "haproxy",
  "nginx",
  "caddy",
  "node-http-proxy",
  "fastify-http-proxy",
];

export const SCENARIOS: readonly Scenario[] = [
  {
    name: "echo",
    description: "issue 2: GET / of the echo service against a minimal node:http server (autocannon -c N)",
    kind: "http",
    targets: ["minimal", "direct"],
    method: "GET",
    path: "/",
  },
  {
    name: "get",
    description: "GET / at saturation, HTTP/1.1 in and out (autocannon -c N, keep-alive)",
    kind: "http",
    targets: ["direct", ...PROXIES_H1],
    method: "GET",
    path: "/",
  },
  {
    name: "post-1k",
    description: "POST /echo with a 1 KiB body, echoed back",
    kind: "http",
    targets: ["direct", "echomesh", "envoy", "haproxy", "nginx"],
    method: "POST",
    path: "/echo",
    bodyBytes: 1024,
  },
  {
    name: "post-64k",
    description: "POST /echo with a 64 KiB body, echoed back",
    kind: "http",
    targets: ["direct", "echomesh", "envoy", "haproxy", "nginx"],
    method: "POST",
    path: "/echo",
    bodyBytes: 64 * 1024,
  },
  {
    name: "h2up",
    description: "GET /, HTTP/1.1 in, h2c to the echoes",
    kind: "http",
    targets: ["direct", "echomesh-h2up", "envoy-h2up", "haproxy-h2up", "caddy-h2up"],
    method: "GET",
    path: "/",
  },
  {
    name: "mesh",
    description: "the seed's mesh: HTTP/1.1 -> front -> h2c -> sidecar -> HTTP/1.1 -> echo",
    kind: "http",
    targets: ["direct", "echomesh-mesh", "envoy-mesh", "haproxy-mesh", "caddy-mesh"],
    method: "GET",
    path: "/",
  },
  {
    name: "tls-handshake",
    description:
      "GET / over HTTPS, a new TLS connection (full handshake) per request: handshakes per second (N loops of a small node:https client, no agent, no session resumption)",
    kind: "http",
    targets: ["direct", "echomesh-tls", "envoy-tls", "haproxy-tls"],
    method: "GET",
    path: "/",
    newConnectionPerRequest: true,
  },
  {
    name: "tls-keepalive",
    description: "GET / over HTTPS, keep-alive (autocannon -c N): the cost of TLS records per request",
    kind: "http",
    targets: ["direct", "echomesh-tls", "envoy-tls", "haproxy-tls"],
    method: "GET",
    path: "/",
  },
  {
    name: "h2c",
    description: "h2c downstream (prior knowledge): h2load -c 50 -m 10, HTTP/1.1 to the echoes",
    kind: "h2c",
    targets: ["direct", "echomesh", "envoy", "haproxy", "nginx", "caddy"],
  },
  {
    name: "latency",
    description: "one request at a time: h2load --h1 -c 1 -m 1 (p50 added by the hop)",
    kind: "latency",
    targets: ["direct", "echomesh", "envoy", "haproxy", "nginx", "node-http-proxy", "fastify-http-proxy"],
  },
  {
    name: "ws",
    description: "WebSocket round trips: 50 sockets, 64-byte text, send -> wait for the echo -> send",
    kind: "ws",
    targets: ["direct", "echomesh", "envoy", "haproxy", "nginx", "caddy", "node-http-proxy"],
  },
  {
    name: "ws-idle",
    description: "open idle WebSockets (at most 100 handshakes in flight), held, one echo each, closed",
    kind: "ws-idle",
    targets: ["direct", "echomesh", "envoy", "haproxy", "nginx"],
  },
];

/** `scenario`, `scenario/target`, `*`/target; `*` matches any run of characters. */
export function matches(patterns: readonly string[], scenario: string, target: string): boolean {
  if (patterns.length === 0) return true;
  return patterns.some((p) => {
    const [sp, tp] = p.includes("/") ? p.split("/", 2) : [p, "*"];
    return glob(sp ?? "*", scenario) && glob(tp ?? "*", target);
  });
}

function glob(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.split("*").map(escapeRegExp).join(".*")}$`);
  return re.test(value);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}
