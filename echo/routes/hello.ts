import os from "node:os";
import type { Controls } from "../controls.js";
import type { Exchange } from "../exchange.js";
import { reply } from "../reply.js";
import { type TlsView, tlsView } from "./tls_view.js";

/** GET / and GET /hello: the zcong text view, or the JSON view when asked for. */
export function hello(x: Exchange, c: Readonly<Controls>): void {
  if (wantsJson(x)) reply(x, c, 200, JSON.stringify(jsonView(x), null, 2), "application/json");
  else reply(x, c, 200, textView(x), "text/plain; charset=utf-8");
}

function wantsJson(x: Exchange): boolean {
  if (x.ctx.config.json) return !/(?:^|&)format=text(?:&|$)/.test(x.query);
  if (x.query !== "" && /(?:^|&)format=json(?:&|$)/.test(x.query)) return true;
  const accept = x.req.headers.accept;
  return accept?.includes("application/json") === true;
}

/**
 * zcong's `Name:[value]` lines, but exactly as received: original case and order, one line per
 * occurrence, Host included. HTTP/2 pseudo-headers (`:method`, `:authority`, ...) are not headers
 * and are left out. With `showIp`, zcong's later `ip: <client>` line ends the text.
 */
export function textView(x: Exchange): string {
  return helloText(x.req.rawHeaders, x.ctx.config.showIp ? clientIp(x) : undefined);
}

/** The text view of `raw` headers; `ip` (with `showIp`) adds its line. */
export function helloText(raw: readonly string[], ip: string | undefined): string {
  let out = "";
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? "";
    if (name.charCodeAt(0) === 58) continue; // ':' pseudo-header
    out += name + ":[" + (raw[i + 1] ?? "") + "]\n";
  }
  if (ip !== undefined) out += "ip: " + ip + "\n";
  return out;
}

/** The JSON view: a superset of the Gateway API echo-basic schema. Documented in echo/README.md. */
export interface JsonView {
  path: string;
  host: string;
  method: string;
  proto: string;
  headers: Record<string, string[]>;
  rawHeaders: Array<[string, string]>;
  namespace: string;
  ingress: string;
  service: string;
  pod: string;
  httpPort: string;
  instance: string;
  hostname: string;
  remoteAddress: string;
  remotePort: number;
  /** The TLS connection's facts; absent on plaintext. */
  tls?: TlsView;
}

export function jsonView(x: Exchange): JsonView {
  const { config } = x.ctx;
  const raw = x.req.rawHeaders;
  const headers: Record<string, string[]> = {};
  const rawHeaders: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? "";
    const value = raw[i + 1] ?? "";
    if (name.charCodeAt(0) === 58) continue;
    rawHeaders.push([name, value]);
    const key = canonical(name);
    const list = headers[key];
    if (list === undefined) headers[key] = [value];
    else list.push(value);
  }
  const h2Authority = x.req.headers[":authority"];
  const view: JsonView = {
    path: x.url,
    host: x.req.headers.host ?? (typeof h2Authority === "string" ? h2Authority : ""),
    method: x.req.method ?? "",
    proto: x.proto,
    headers,
    rawHeaders,
    namespace: config.namespace,
    ingress: config.ingress,
    service: config.service,
    pod: config.pod,
    httpPort: String(x.ctx.port),
    instance: config.instance,
    hostname: os.hostname(),
    remoteAddress: clientIp(x),
    remotePort: x.req.socket?.remotePort ?? 0,
  };
  const tls = tlsView(x.req);
  if (tls !== undefined) view.tls = tls;
  return view;
}

/** Go's canonical header key (`x-request-id` -> `X-Request-Id`), as echo-basic reports them. */
function canonical(name: string): string {
  return name
    .toLowerCase()
    .replace(/(^|-)([a-z])/g, (_m, dash: string, ch: string) => dash + ch.toUpperCase());
}

/** The peer address, IPv4-mapped IPv6 shown as IPv4 (as Go would). */
function clientIp(x: Exchange): string {
  return peerAddress(x.req.socket?.remoteAddress);
}

/** A socket's peer address as Go shows it: IPv4-mapped IPv6 as IPv4. */
export function peerAddress(addr: string | undefined): string {
  const a = addr ?? "";
  return a.startsWith("::ffff:") ? a.slice(7) : a;
}
