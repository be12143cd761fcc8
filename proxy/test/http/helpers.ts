/**
 * Test harness: an Envoy v3 config (YAML text) loaded through the real loader, served by the real
 * listener, clusters and connection pools on 127.0.0.1; plus small upstreams and clients.
 */
import http, { type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import http2 from "node:http2";
import net, { type AddressInfo } from "node:net";
import { afterEach } from "vitest";
import type { AccessLogEntry } from "../../access_log/entry.js";
import { loadConfigString } from "../../config/load.js";
import { createConnPool } from "../../conn_pool/index.js";
import { createHttpListener, type HttpListener } from "../../listener/listener.js";
import { StatsStore } from "../../stats/store.js";
import type { ClusterManager } from "../../upstream/cluster.js";
import { createClusterManager } from "../../upstream/cluster_manager.js";

export interface TestProxy {
  port: number;
  listener: HttpListener;
  clusters: ClusterManager;
  store: StatsStore;
  entries: AccessLogEntry[];
  /** `http.ingress.<name>` or any full stat name. */
  stat(name: string): number;
  close(): Promise<void>;
}

/**
 * `yaml` is a v3 bootstrap whose listener has port 0; `{{name}}` placeholders are replaced by `ports`.
 */
export async function startProxy(
  yaml: string,
  ports: Record<string, number> = {},
  opts: { random?: () => number } = {},
): Promise<TestProxy> {
  const text = yaml.replace(/\{\{(\w+)\}\}/g, (_m, k: string) => String(ports[k] ?? 1));
  const bootstrap = loadConfigString(text);
  const store = new StatsStore();
  const clusters = createClusterManager(bootstrap.clusters, {
    stats: store,
    createPool: createConnPool,
    ...(opts.random ? { random: opts.random } : {}),
  });
  await clusters.initialize();
  const entries: AccessLogEntry[] = [];
  const listener = createHttpListener(bootstrap.listeners[0]!, {
    clusterManager: clusters,
    stats: store,
    onRequestComplete: (e) => entries.push(e),
    ...(opts.random ? { random: opts.random } : {}),
  });
  const addr = await listener.listen();
  return {
    port: addr.port,
    listener,
    clusters,
    store,
    entries,
    stat: (name) => {
      const snap = store.snapshot();
      return snap.counters[name] ?? snap.gauges[name] ?? 0;
    },
    close: async () => {
      await listener.close();
      await clusters.close();
    },
  };
}

/** A v3 bootstrap with one listener (`hcm` extra YAML indented under the HCM) and static clusters. */
export function bootstrapYaml(opts: {
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
  return `
static_resources:
  listeners:
  - name: ingress
    address:
      socket_address: { address: 127.0.0.1, port_value: 0 }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
${indent(opts.hcmExtra ?? "", 10)}
          route_config:
            name: local
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
${indent(opts.routes, 14)}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:${clusters}
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
  server: http.Server;
  requests: IncomingMessage[];
  close(): Promise<void>;
}

export interface ProxyFixture {
  /** Starts an upstream (`startUpstream(handler)`) and a proxy in front of it (catch-all route unless `routes`). */
  start(opts?: { hcmExtra?: string; routes?: string; handler?: http.RequestListener }): Promise<TestProxy>;
  /** The upstream of the running test, once started. */
  readonly upstream: Upstream | null;
}

/** One proxy and its upstream per test, both closed after each test of the calling file. */
export function useProxyFixture(): ProxyFixture {
  let proxy: TestProxy | null = null;
  let upstream: Upstream | null = null;
  afterEach(async () => {
    await proxy?.close();
    await upstream?.close();
    proxy = upstream = null;
  });
  return {
    async start(opts = {}) {
      upstream = await startUpstream(opts.handler);
      const yaml = bootstrapYaml({ routes: opts.routes ?? CATCH_ALL, hcmExtra: opts.hcmExtra ?? "" });
      proxy = await startProxy(yaml, { backend: upstream.port });
      return proxy;
    },
    get upstream() {
      return upstream;
    },
  };
}

/** An HTTP/1.1 upstream; `handler` answers (default: 200 echoing method, url and headers as JSON). */
export async function startUpstream(handler?: http.RequestListener): Promise<Upstream> {
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

export async function listenUpstream(
  server: http.Server,
  requests: IncomingMessage[] = [],
): Promise<Upstream> {
  const sockets = new Set<net.Socket>();
  server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
  trailers: NodeJS.Dict<string>;
}

/** One HTTP/1.1 request on a fresh connection. */
export function h1(
  port: number,
  opts: {
    method?: string;
    path?: string;
    headers?: OutgoingHttpHeaders | string[];
    body?: string | Buffer;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: opts.method ?? "GET",
        path: opts.path ?? "/",
        headers: opts.headers ?? {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(chunks).toString(),
            trailers: res.trailers,
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** One HTTP/2 (h2c prior knowledge) request on a fresh session. */
export function h2(
  port: number,
  opts: { method?: string; path?: string; headers?: http2.OutgoingHttpHeaders; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const stream = session.request({
      ":method": opts.method ?? "GET",
      ":path": opts.path ?? "/",
      ...opts.headers,
    });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: NodeJS.Dict<string> = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      headers = h;
    });
    stream.on("trailers", (t) => {
      trailers = t as NodeJS.Dict<string>;
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      session.close();
      resolve({
        status: Number(headers[":status"]),
        headers: headers as http.IncomingHttpHeaders,
        rawHeaders: [],
        body: Buffer.concat(chunks).toString(),
        trailers,
      });
    });
    stream.on("error", (e) => {
      session.destroy();
      reject(e);
    });
    stream.end(opts.body);
  });
}

/** Send raw bytes on a fresh connection and collect everything until the server closes (or `waitMs`). */
export function raw(port: number, text: string | Buffer, waitMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("latin1"));
    });
    socket.write(text);
  });
}

export const CATCH_ALL = `- match: { prefix: "/" }
  route: { cluster: backend }`;

/** Cluster YAML (under `clusterExtra`) that makes a cluster speak h2c. */
export const H2C_CLUSTER = `typed_extension_protocol_options:
  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
    explicit_http_config:
      http2_protocol_options: {}`;

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `fn` until it returns true (or fail after `ms`). */
export async function until(fn: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await sleep(10);
  }
}
