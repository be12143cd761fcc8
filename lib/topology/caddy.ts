/**
 * Caddyfiles (Caddy 2.6) from a proxy spec, as a user fronting HTTP services with Caddy writes them:
 * one site on the listener's address, a `handle` block per reachable route with a `reverse_proxy` to
 * its cluster (Caddy takes the most specific path matcher; `reachableRoutes` drops what Envoy's first
 * match would never reach, so the answers are the same), `lb_policy round_robin`, `transport http {
 * versions h2c }` for an h2c cluster, `header_up Host` for a host rewrite, and 404 for paths no route
 * takes (Caddy would answer an empty 200). Caddy keeps the client's Host and adds X-Forwarded-For
 * itself. `admin off` and `auto_https off`: a plain HTTP listener on loopback. Codec `auto` is
 * `protocols h1 h2c` (HTTP/1.1 and h2c prior knowledge on one port).
 *
 * strict_dns: a cluster of one DNS name with `ctx.resolver` becomes `dynamic a` upstreams asking that
 * server every `dnsRefreshMs` (Caddy's dynamic upstreams); several names are written in as the
 * addresses they stand for at start (`ctx.names`). Caddy 2.6 cannot split a route between clusters
 * by weight, nor weigh hosts: both are unsupported.
 *
 * Profile `bench`: keep-alive 2 min and 64 idle connections per host on HTTP/1.1 upstreams.
 */

import type { ClusterSpec, ProxySpec, RouteSpec } from "./model.js";
import { UnsupportedError } from "./model.js";
import type { RenderContext } from "./render.js";
import { clusterNamed, isName, reachableRoutes, routesEverything, tlsParts } from "./spec.js";

const ms = (n: number) => `${n}ms`;
const DEFAULT_DNS_REFRESH_MS = 5_000;

function upstreams(c: ClusterSpec, ctx: RenderContext): string[] {
  if (c.hosts.some((h) => h.weight !== undefined))
    throw new UnsupportedError(
      "caddy",
      `host weights in cluster ${c.name} (Caddy 2.6 has no weighted round robin)`,
    );
  const names = [...new Set(c.hosts.filter((h) => isName(h.host)).map((h) => `${h.host}:${h.port}`))];
  if (
    c.discovery === "strict_dns" &&
    ctx.resolver !== undefined &&
    names.length === 1 &&
    c.hosts.length === 1
  ) {
    const [h] = c.hosts as [ClusterSpec["hosts"][number]];
    return [
      "\t\tdynamic a {",
      `\t\t\tname ${h.host}`,
      `\t\t\tport ${h.port}`,
      `\t\t\trefresh ${ms(c.dnsRefreshMs ?? DEFAULT_DNS_REFRESH_MS)}`,
      `\t\t\tresolvers ${ctx.resolver.host}:${ctx.resolver.port}`,
      "\t\t}",
    ];
  }
  const addresses = c.hosts.flatMap((h) =>
    (ctx.names?.get(h.host) ?? [h.host]).map((host) => `${host}:${h.port}`),
  );
  return [`\t\tto ${addresses.join(" ")}`];
}

function handle(spec: ProxySpec, r: RouteSpec, ctx: RenderContext): string[] {
  if (typeof r.to !== "string")
    throw new UnsupportedError(
      "caddy",
      `a weighted split between clusters on ${r.prefix} (Caddy 2.6 has none)`,
    );
  const c = clusterNamed(spec, r.to);
  if (c.lb !== "round_robin") throw new UnsupportedError("caddy", `lb ${c.lb}`);
  const transport = [
    "\t\ttransport http {",
    `\t\t\tdial_timeout ${ms(c.connectTimeoutMs)}`,
    ...(c.protocol === "h2c" ? ["\t\t\tversions h2c"] : []),
    ...(r.timeoutMs !== undefined ? [`\t\t\tresponse_header_timeout ${ms(r.timeoutMs)}`] : []),
    ...(ctx.profile === "bench" && c.protocol === "http1"
      ? ["\t\t\tkeepalive 2m", "\t\t\tkeepalive_idle_conns_per_host 64"]
      : []),
    "\t\t}",
  ];
  const matcher = r.prefix === "/" ? "" : ` ${r.prefix}*`;
  return [
    `\thandle${matcher} {`,
    "\t\treverse_proxy {",
    ...upstreams(c, ctx).map((l) => `\t${l}`),
    "\t\t\tlb_policy round_robin",
    ...(r.hostRewrite !== undefined ? [`\t\t\theader_up Host ${r.hostRewrite}`] : []),
    ...transport.map((l) => `\t${l}`),
    "\t\t}",
    "\t}",
  ];
}

export function renderCaddy(spec: ProxySpec, ctx: RenderContext): string {
  const tls = tlsParts(spec);
  if (tls !== undefined) throw new UnsupportedError("caddy", `${tls} (its renderer has no TLS yet)`);
  const { listener } = spec;
  const protocols = { auto: "h1 h2c", http1: "h1", http2: "h2c" }[listener.codec];
  const lines = [
    "{",
    "\tadmin off",
    "\tauto_https off",
    "\tservers {",
    `\t\tprotocols ${protocols}`,
    "\t}",
    "}",
    `http://:${listener.address.port} {`,
    `\tbind ${listener.address.host}`,
    ...reachableRoutes(spec).flatMap((r) => handle(spec, r, ctx)),
    ...(routesEverything(spec) ? [] : ["\thandle {", "\t\trespond 404", "\t}"]),
    "}",
  ];
  return `${lines.join("\n")}\n`;
}
