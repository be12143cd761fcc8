/**
 * nginx 1.22 configs from a proxy spec, as a user fronting HTTP services with nginx writes them: an
 * `upstream` per cluster (round robin, `weight=`, keep-alive connections), a `location` per reachable
 * route (nginx takes the longest prefix; `reachableRoutes` drops what Envoy's first match would never
 * reach, so the answers are the same), HTTP/1.1 upstream with the Host and X-Forwarded-For headers
 * users set, the Upgrade/Connection pair on WebSocket routes, `split_clients` for a weighted split,
 * and 404 for paths no route takes. What 1.22 cannot do: HTTP/2 to upstreams (an h2c cluster is
 * unsupported) and HTTP/1.1 with h2c on one port (codec `auto` serves HTTP/1.1; `http2` serves h2c).
 * Upstream names are resolved once at start; with `ctx.names` they are written in as addresses.
 *
 * Profile `bench`: worker_connections 12000 (5,000 WebSockets need 10,000 connections), keepalive 64,
 * unlimited keepalive_requests, 128k body buffer (the 64 KiB POST scenario stays in memory), no
 * X-Forwarded-For (as the benchmarks' configs before the model); `ctx.h2cListen` adds a second
 * server speaking h2c with the same routes.
 */

import type { Address, ClusterSpec, HostSpec, ProxySpec, RouteSpec } from "./model.js";
import { UnsupportedError } from "./model.js";
import type { RenderContext } from "./render.js";
import { clusterNamed, reachableRoutes, routesEverything, routeTargets, tlsParts } from "./spec.js";

const upstreamOf = (cluster: string) => `u_${cluster.replace(/[^A-Za-z0-9_]/g, "_")}`;
const seconds = (ms: number) => `${Math.max(1, Math.ceil(ms / 1000))}s`;

function hosts(c: ClusterSpec, ctx: RenderContext): HostSpec[] {
  return c.hosts.flatMap((h) => (ctx.names?.get(h.host) ?? [h.host]).map((host) => ({ ...h, host })));
}

function upstream(c: ClusterSpec, ctx: RenderContext): string[] {
  if (c.protocol === "h2c")
    throw new UnsupportedError(
      "nginx",
      `HTTP/2 to the upstreams of cluster ${c.name} (nginx 1.22 proxies HTTP/1.x only)`,
    );
  if (c.lb !== "round_robin") throw new UnsupportedError("nginx", `lb ${c.lb}`);
  const keepalive = ctx.profile === "bench" ? 64 : 32;
  return [
    `  upstream ${upstreamOf(c.name)} {`,
    ...hosts(c, ctx).map(
      (h) => `    server ${h.host}:${h.port}${h.weight === undefined ? "" : ` weight=${h.weight}`};`,
    ),
    `    keepalive ${keepalive};`,
    ...(ctx.profile === "bench" ? ["    keepalive_requests 1000000;"] : []),
    "  }",
  ];
}

/** A weighted route's `split_clients` variable, named after its index. */
const splitVar = (i: number) => `$split_${i}`;

function splits(routes: RouteSpec[]): string[] {
  return routes.flatMap((r, i) => {
    if (typeof r.to === "string") return [];
    const total = r.to.reduce((sum, t) => sum + t.weight, 0);
    const lines = r.to.map((t, j) =>
      j === r.to.length - 1
        ? `    * ${upstreamOf(t.cluster)};`
        : `    ${((100 * t.weight) / total).toFixed(2)}% ${upstreamOf(t.cluster)};`,
    );
    return [`  split_clients "\${request_id}" ${splitVar(i)} {`, ...lines, "  }"];
  });
}

function location(spec: ProxySpec, r: RouteSpec, i: number, ctx: RenderContext): string[] {
  const targets = routeTargets(r);
  const pass = typeof r.to === "string" ? upstreamOf(r.to) : splitVar(i);
  const connect = Math.max(...targets.map((t) => clusterNamed(spec, t.cluster).connectTimeoutMs));
  return [
    `    location ${r.prefix} {`,
    `      proxy_pass http://${pass};`,
    "      proxy_http_version 1.1;",
    `      proxy_set_header Host ${r.hostRewrite ?? "$http_host"};`,
    // The benchmarks' configs forward as before the model: without X-Forwarded-For.
    ...(ctx.profile === "bench"
      ? []
      : ["      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;"]),
    ...(r.websocket === true
      ? [
          "      proxy_set_header Upgrade $http_upgrade;",
          "      proxy_set_header Connection $connection_upgrade;",
        ]
      : ['      proxy_set_header Connection "";']),
    `      proxy_connect_timeout ${seconds(connect)};`,
    ...(r.timeoutMs !== undefined
      ? [
          `      proxy_read_timeout ${seconds(r.timeoutMs)};`,
          `      proxy_send_timeout ${seconds(r.timeoutMs)};`,
        ]
      : r.websocket === true
        ? ["      proxy_read_timeout 1h;"]
        : []),
    "    }",
  ];
}

export function renderNginx(spec: ProxySpec, ctx: RenderContext): string {
  const tls = tlsParts(spec);
  if (tls !== undefined) throw new UnsupportedError("nginx", `${tls} (its renderer has no TLS yet)`);
  const { listener } = spec;
  const routes = reachableRoutes(spec);
  const listen = (a: Address, h2c: boolean) => `${a.host}:${a.port}${h2c ? " http2" : ""}`;
  const dir = ctx.workDir;
  const bench = ctx.profile === "bench";
  const server = (on: string) => [
    "  server {",
    `    listen ${on};`,
    ...(bench ? ["    keepalive_requests 1000000;"] : []),
    ...routes.flatMap((r, i) => location(spec, r, i, ctx)),
    ...(routesEverything(spec) ? [] : ["    location / {", "      return 404;", "    }"]),
    "  }",
  ];
  const lines = [
    "worker_processes 1;",
    ...(bench ? ["worker_rlimit_nofile 19000;"] : []),
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    "daemon off;",
    "master_process on;",
    `events { worker_connections ${bench ? 12000 : 1024}; }`,
    "http {",
    "  access_log off;",
    "  client_max_body_size 0;",
    ...(bench ? ["  client_body_buffer_size 128k;"] : []),
    `  client_body_temp_path ${dir}/body;`,
    `  proxy_temp_path ${dir}/proxy;`,
    `  fastcgi_temp_path ${dir}/fcgi;`,
    `  uwsgi_temp_path ${dir}/uwsgi;`,
    `  scgi_temp_path ${dir}/scgi;`,
    "  map $http_upgrade $connection_upgrade {",
    "    default upgrade;",
    "    '' '';",
    "  }",
    ...spec.clusters.flatMap((c) => upstream(c, ctx)),
    ...splits(routes),
    ...server(listen(listener.address, listener.codec === "http2")),
    ...(ctx.h2cListen === undefined ? [] : server(listen(ctx.h2cListen, true))),
    "}",
  ];
  return `${lines.join("\n")}\n`;
}
