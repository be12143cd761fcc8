/**
 * Test harness: an Envoy v3 config (YAML text) loaded through the real loader and served by a real
 * `ProxyServer` built from the CLI's factories, on 127.0.0.1; plus small upstreams.
 */
import http, { type IncomingMessage } from "node:http";
import type net from "node:net";
import { waitUntil } from "../../../lib/wait.js";
import { useCleanup } from "../../../test-support/cleanup.js";
import { closeServer, listen } from "../../../test-support/servers.js";
import type { AccessLogEntry } from "../../access_log/entry.js";
import { loadConfigString } from "../../config/load.js";
import { defaultFactories } from "../../server/factories.js";
import { silentLogger } from "../../server/log.js";
import { ProxyServer } from "../../server/server.js";

export interface TestProxy {
  /** The port of the (first) listener. */
  port: number;
  server: ProxyServer;
  /** Every finished stream, as the access log sees it. */
  entries: AccessLogEntry[];
  /** Waits until `n` streams have finished (default 1); resolves with `entries`. */
  logged(n?: number): Promise<AccessLogEntry[]>;
  /** `http.ingress.<name>` or any full stat name. */
  stat(name: string): number;
  close(): Promise<void>;
}

/**
 * Builds and starts the proxy the CLI would run for `yaml`: a v3 bootstrap whose listener has port
 * 0; `{{name}}` placeholders are replaced by `ports`. `random` replaces Math.random.
 */
export async function startProxy(
  yaml: string,
  ports: Record<string, number> = {},
  opts: { random?: () => number } = {},
): Promise<TestProxy> {
  const text = yaml.replace(/\{\{(\w+)\}\}/g, (_m, k: string) => String(ports[k] ?? 1));
  const bootstrap = loadConfigString(text);
  const entries: AccessLogEntry[] = [];
  const server = new ProxyServer(bootstrap, {
    logger: silentLogger,
    ...defaultFactories({ onRequestComplete: (e) => entries.push(e) }),
    ...(opts.random ? { random: opts.random } : {}),
    serverInfo: null,
  });
  await server.start();
  const name = bootstrap.listeners[0]?.name ?? "";
  const port = server.listenerAddress(name)?.port;
  if (port === undefined) throw new Error(`listener ${name} did not bind`);
  return {
    port,
    server,
    entries,
    logged: async (n = 1) => {
      await waitUntil(`${n} finished stream(s) logged`, () => entries.length >= n);
      return entries;
    },
    stat: (stat) => {
      const snap = server.stats.snapshot();
      return snap.counters[stat] ?? snap.gauges[stat] ?? 0;
    },
    close: () => server.stop(),
  };
}

/** A v3 bootstrap with one listener (`hcm` extra YAML indented under the HCM) and static clusters. */
function bootstrapYaml(opts: {
  routes: string;
  hcmExtra?: string;
  clusters?: string[];
  clusterExtra?: Record<string, string>;
}): string {
  const clusters = (opts.clusters ?? ["backend"])
    .map(
      (name) => `
  - name: ${name}
    type: STATIC
    connect_timeout: 1s
${indent(opts.clusterExtra?.[name] ?? "", 4)}
    load_assignment:
      cluster_name: ${name}
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: { address: 127.0.0.1, port_value: {{${name}}} }`,
    )
    .join("");
  return v3Bootstrap({
    routes: `\n${indent(opts.routes, 14)}`,
    hcmExtra: `\n${indent(withFastDelayedClose(opts.hcmExtra ?? ""), 10)}`,
    clusters,
  });
}

/**
 * Test proxies close 50 ms after a reply that ends the connection instead of Envoy's 1 s
 * (`delayed_close_timeout`), unless a test sets the field itself (the delayed-close tests do).
 */
function withFastDelayedClose(hcmExtra: string): string {
  if (hcmExtra.includes("delayed_close_timeout")) return hcmExtra;
  return hcmExtra === "" ? "delayed_close_timeout: 0.05s" : `delayed_close_timeout: 0.05s\n${hcmExtra}`;
}

/**
 * Route lines for `v3Bootstrap`'s `routes`: one route a prefix, in order, with its action
 * (`route: { ... }` or `direct_response: { ... }`).
 */
export function prefixRoutes(actions: Record<string, string>): string {
  return Object.entries(actions)
    .map(
      ([prefix, action]) => `
              - match: { prefix: "${prefix}" }
                ${action}`,
    )
    .join("");
}

/**
 * One STATIC cluster entry (an item of `clusters:`): its one endpoint 127.0.0.1:`port` (a number or
 * a `{{name}}` placeholder), none when `port` is null; `extra` goes after `connect_timeout`.
 */
export function staticCluster(name: string, port: number | string | null, extra = ""): string {
  const endpoints =
    port === null
      ? "[]"
      : `[ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${port} } } } } ] } ]`;
  return `
  - name: ${name}
    type: STATIC
    connect_timeout: 1s${extra}
    load_assignment: { cluster_name: ${name}, endpoints: ${endpoints} }`;
}

/**
 * A v3 bootstrap: `top` (say, an admin block), then one listener `ingress` on 127.0.0.1:`port`
 * (default 0) whose HCM (stat prefix `ingress`, `hcmExtra` after it) routes every domain by
 * `routes` (the route lines, indented for `routes:`) through the router filter, then `clusters`
 * (the cluster entries).
 */
export function v3Bootstrap(o: {
  routes: string;
  clusters: string;
  port?: number;
  hcmExtra?: string;
  top?: string;
}): string {
  return `${o.top ?? ""}
static_resources:
  listeners:
  - name: ingress
    address: { socket_address: { address: 127.0.0.1, port_value: ${o.port ?? 0} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress${o.hcmExtra ?? ""}
          route_config:
            name: local
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:${o.routes}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:${o.clusters}
`;
}

function indent(text: string, n: number): string {
  const pad = " ".repeat(n);
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => pad + l)
    .join("\n");
}

export interface Upstream {
  port: number;
  server: net.Server;
  /** Requests seen by a `startUpstream` upstream (empty for other servers). */
  requests: IncomingMessage[];
  close(): Promise<void>;
}

/** What `bootstrapYaml` needs besides the routes, and the proxy's `random`. */
export interface ProxyExtra {
  hcmExtra?: string;
  clusters?: string[];
  clusterExtra?: Record<string, string>;
  random?: () => number;
}

/** Proxies and upstreams for the tests of one file; all of them are closed after each test. */
export interface Proxies {
  /** A proxy serving `routes` (see `bootstrapYaml`), its clusters' ports from `ports`. */
  proxy(routes: string, ports: Record<string, number>, extra?: ProxyExtra): Promise<TestProxy>;
  /** A proxy for a whole bootstrap (`startProxy`), e.g. a v2 one. */
  bootstrap(yaml: string, ports: Record<string, number>): Promise<TestProxy>;
  /** An HTTP/1.1 upstream (see `startUpstream`). */
  upstream(handler?: http.RequestListener): Promise<Upstream>;
  /** Any server (raw TCP, WebSocket, h2c) listening as an upstream. */
  serve(server: net.Server): Promise<Upstream>;
  /** Runs `fn` after the test too. */
  defer(fn: () => unknown): void;
}

export function useProxies(): Proxies {
  const defer = useCleanup();
  const opened = async <T extends { close(): Promise<void> }>(thing: Promise<T>): Promise<T> => {
    const t = await thing;
    defer(() => t.close());
    return t;
  };
  return {
    proxy: (routes, ports, extra = {}) =>
      opened(
        startProxy(bootstrapYaml({ routes, ...extra }), ports, extra.random ? { random: extra.random } : {}),
      ),
    bootstrap: (yaml, ports) => opened(startProxy(yaml, ports)),
    upstream: (handler) => opened(startUpstream(handler)),
    serve: (server) => opened(listenUpstream(server)),
    defer,
  };
}

export interface ProxyFixture {
  /** Starts an upstream (`startUpstream(handler)`) and a proxy in front of it (catch-all route unless `routes`). */
  start(opts?: { hcmExtra?: string; routes?: string; handler?: http.RequestListener }): Promise<TestProxy>;
  /** The upstream of the running test, once started. */
  readonly upstream: Upstream | null;
}

/** One proxy and its upstream per test, both closed after each test of the calling file. */
export function useProxyFixture(): ProxyFixture {
  const proxies = useProxies();
  let upstream: Upstream | null = null;
  return {
    async start(opts = {}) {
      proxies.defer(() => {
        upstream = null;
      });
      upstream = await proxies.upstream(opts.handler);
      return proxies.proxy(
        opts.routes ?? CATCH_ALL,
        { backend: upstream.port },
        { hcmExtra: opts.hcmExtra ?? "" },
      );
    },
    get upstream() {
      return upstream;
    },
  };
}

/** An HTTP/1.1 upstream; `handler` answers (default: 200 echoing method, url and headers as JSON). */
function startUpstream(handler?: http.RequestListener): Promise<Upstream> {
  const requests: IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    if (handler) {
      handler(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(200, { "content-type": "application/json", server: "upstream" }).end(body);
    });
  });
  return listenUpstream(server, requests);
}

/** `server` listening on loopback; `close()` ends its connections too. */
async function listenUpstream(server: net.Server, requests: IncomingMessage[] = []): Promise<Upstream> {
  const port = await listen(server);
  return { port, server, requests, close: () => closeServer(server) };
}

export const CATCH_ALL = `- match: { prefix: "/" }
  route: { cluster: backend }`;

/** Cluster YAML (under `clusterExtra`) that makes a cluster speak h2c. */
export const H2C_CLUSTER = `typed_extension_protocol_options:
  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
    explicit_http_config:
      http2_protocol_options: {}`;
