/**
 * HAProxy 2.6 configs from a proxy spec, as a user fronting HTTP services with HAProxy writes them:
 * one frontend, one backend per cluster (`balance roundrobin`), routes as ACLs on the path in the
 * spec's order (first match wins, as Envoy), `option forwardfor`. A plain bind serves HTTP/1.1 and
 * h2c prior knowledge (HAProxy sniffs the HTTP/2 preface); `proto h2` on a server speaks h2c to it, and
 * a WebSocket to such a server goes as RFC 8441 extended CONNECT (`ws auto`). strict_dns clusters with
 * a resolver: a `resolvers` section and one `server-template` per name, re-resolved every
 * `dnsRefreshMs` (Envoy's default 5 s).
 *
 * TLS: a TLS listener is a bind with `ssl crt ... alpn ...` (and `ca-file ... verify required` for
 * client certificates), a TLS cluster's servers `ssl ca-file ... verifyhost ... sni ... alpn h2` (and
 * `crt` for mutual TLS). HAProxy reads a certificate and its key from one file: the renderer writes it
 * into `ctx.workDir`. A client certificate's SAN is not checked by a bind (`DownstreamTls.clientSans`
 * is refused), and `verifyhost` checks one name (one SAN per cluster).
 *
 * Profile `bench`: `nbthread 1` and `maxconn 8000` (the benchmarks' load), as before the model.
 */

import { readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { CertFiles, ClusterSpec, ListenerSpec, ProxySpec, RouteSpec } from "./model.js";
import { UnsupportedError } from "./model.js";
import type { RenderContext } from "./render.js";
import { clusterNamed, isName, routesEverything, routeTargets } from "./spec.js";

/** Server slots per DNS name (addresses beyond it are not used; the suite's names have at most 3). */
const SLOTS_PER_NAME = 8;
const DEFAULT_DNS_REFRESH_MS = 5_000;

const ms = (n: number) => `${n}ms`;
const backendOf = (cluster: string) => `be_${cluster.replace(/[^A-Za-z0-9_]/g, "_")}`;

function globalSection(ctx: RenderContext): string[] {
  const out = ["global"];
  if (ctx.profile === "bench") out.push("    nbthread 1", "    maxconn 8000");
  out.push(
    "",
    "defaults",
    "    mode http",
    ...(ctx.profile === "bench" ? ["    maxconn 8000"] : []),
    "    timeout connect 5s",
    "    timeout client  30s",
    "    timeout server  30s",
    "    timeout http-keep-alive 30s",
    "    timeout tunnel  1h",
    "    option http-keep-alive",
    ...(ctx.profile === "bench" ? ["    http-reuse safe"] : ["    option forwardfor"]),
  );
  return out;
}

/** ACL `r<i>` per route (in the frontend, and again in a backend that needs them). */
const routeAcls = (spec: ProxySpec) => spec.routes.map((r, i) => `    acl r${i} path_beg ${r.prefix}`);

/** A route is chosen when its ACL matches and no earlier one did. */
function routeCondition(i: number): string {
  return [`r${i}`, ...Array.from({ length: i }, (_, j) => `!r${j}`)].join(" ");
}

/** The certificate and its key in one PEM file in `workDir` (HAProxy's `crt`), written now. */
function pemFile(c: CertFiles, ctx: RenderContext): string {
  const file = join(ctx.workDir, `${basename(c.cert).replace(/\.[^.]*$/, "")}.pem`);
  writeFileSync(file, `${readFileSync(c.cert, "utf8")}${readFileSync(c.key, "utf8")}`, { mode: 0o600 });
  return file;
}

function bind(listener: ListenerSpec, ctx: RenderContext): string {
  if (listener.codec === "http1")
    throw new UnsupportedError("haproxy", "an HTTP/1.1-only listener (a plain bind also accepts h2c)");
  let line = `    bind ${listener.address.host}:${listener.address.port}`;
  const tls = listener.tls;
  if (tls !== undefined) {
    if (tls.clientSans !== undefined)
      throw new UnsupportedError("haproxy", "a check of the client certificate's SAN on a bind");
    line += ` ssl crt ${pemFile(tls.cert, ctx)} alpn ${tls.alpn.join(",")}`;
    if (tls.clientCa !== undefined)
      line += ` ca-file ${tls.clientCa} verify ${tls.requireClientCert === true ? "required" : "optional"}`;
  } else if (listener.codec === "http2") line += " proto h2";
  return line;
}

function frontend(spec: ProxySpec, ctx: RenderContext): string[] {
  const listeners = [spec.listener, ...(spec.extraListeners ?? [])];
  const out = ["", "frontend fe", ...listeners.map((l) => bind(l, ctx))];
  // What HAProxy users add behind a TLS bind (Envoy sets it by itself).
  if (listeners.some((l) => l.tls !== undefined))
    out.push("    http-request set-header X-Forwarded-Proto https if { ssl_fc }");
  out.push(...routeAcls(spec));
  spec.routes.forEach((r, i) => {
    if (r.hostRewrite !== undefined)
      out.push(`    http-request set-header Host ${r.hostRewrite} if ${routeCondition(i)}`);
  });
  if (!routesEverything(spec)) {
    const anyRoute = spec.routes.map((_, i) => `!r${i}`).join(" ");
    out.push(`    http-request return status 404 content-type text/plain string "no route" if ${anyRoute}`);
  }
  spec.routes.forEach((r, i) => {
    out.push(...useBackend(r, routeCondition(i)));
  });
  return out;
}

/**
 * One cluster: `use_backend`. A weighted split: one rule per cluster, each taken with probability
 * weight / (the weights not yet passed), so the shares are the weights' (`rand` is drawn per rule).
 */
function useBackend(r: RouteSpec, cond: string): string[] {
  const targets = routeTargets(r);
  let remaining = targets.reduce((sum, t) => sum + t.weight, 0);
  return targets.map((t, i) => {
    const last = i === targets.length - 1;
    const pick = last ? "" : ` { rand(${remaining}) lt ${t.weight} }`;
    remaining -= t.weight;
    return `    use_backend ${backendOf(t.cluster)} if ${cond}${pick}`;
  });
}

function backend(spec: ProxySpec, c: ClusterSpec, ctx: RenderContext): string[] {
  if (c.lb !== "round_robin") throw new UnsupportedError("haproxy", `lb ${c.lb}`);
  const out = [
    "",
    `backend ${backendOf(c.name)}`,
    "    balance roundrobin",
    `    timeout connect ${ms(c.connectTimeoutMs)}`,
  ];
  // Route timeouts: the server timeout of the requests of that route (a backend-side rule).
  const timed = spec.routes
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => r.timeoutMs !== undefined && routeTargets(r).some((t) => t.cluster === c.name));
  if (timed.length > 0) {
    out.push(...routeAcls(spec));
    for (const { r, i } of timed)
      out.push(`    http-request set-timeout server ${ms(r.timeoutMs ?? 0)} if ${routeCondition(i)}`);
  }
  let proto = c.protocol === "h2c" ? " proto h2" : "";
  if (c.tls !== undefined) {
    const t = c.tls;
    if (t.sans.length !== 1) throw new UnsupportedError("haproxy", "more than one upstream SAN (verifyhost)");
    // Over TLS, HTTP/2 is negotiated by ALPN (h2) rather than spoken with prior knowledge.
    proto = ` ssl verify required ca-file ${t.ca} verifyhost ${t.sans[0]} sni str(${t.sni})`;
    if (t.clientCert !== undefined) proto += ` crt ${pemFile(t.clientCert, ctx)}`;
    if (c.protocol === "h2c") proto += " alpn h2";
  }
  c.hosts.forEach((h, i) => {
    const weight = h.weight === undefined ? "" : ` weight ${h.weight}`;
    if (c.discovery === "strict_dns" && isName(h.host) && ctx.resolver !== undefined) {
      out.push(
        `    server-template s${i}_ ${SLOTS_PER_NAME} ${h.host}:${h.port} resolvers dns init-addr none resolve-prefer ipv4${weight}${proto}`,
      );
    } else {
      out.push(`    server s${i} ${h.host}:${h.port}${weight}${proto}`);
    }
  });
  return out;
}

function resolvers(spec: ProxySpec, ctx: RenderContext): string[] {
  if (ctx.resolver === undefined) return [];
  const dns = spec.clusters.filter(
    (c) => c.discovery === "strict_dns" && c.hosts.some((h) => isName(h.host)),
  );
  if (dns.length === 0) return [];
  const refresh = Math.min(...dns.map((c) => c.dnsRefreshMs ?? DEFAULT_DNS_REFRESH_MS));
  return [
    "",
    "resolvers dns",
    `    nameserver ns1 ${ctx.resolver.host}:${ctx.resolver.port}`,
    "    accepted_payload_size 8192",
    `    timeout resolve ${ms(refresh)}`,
    "    timeout retry 200ms",
    `    hold valid ${ms(refresh)}`,
    "    hold obsolete 0s",
    "    hold nx 0s",
  ];
}

export function renderHaproxy(spec: ProxySpec, ctx: RenderContext): string {
  for (const r of spec.routes) for (const t of routeTargets(r)) clusterNamed(spec, t.cluster);
  return `${[
    ...globalSection(ctx),
    ...resolvers(spec, ctx),
    ...frontend(spec, ctx),
    ...spec.clusters.flatMap((c) => backend(spec, c, ctx)),
  ].join("\n")}\n`;
}
