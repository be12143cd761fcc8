/**
 * Turns an Observation into named fields and compares two of them. The only values normalised are
 * the legitimately random ones: the `date` header (any date becomes `<date>`), `x-request-id` values
 * (a value the client did not send becomes `<generated>`, one it sent stays as it was, so "kept" and
 * "regenerated" still differ; the same holds for request ids printed in a body, e.g. the echo's text
 * view) and `x-envoy-upstream-service-time` values (a number becomes `<ms>`). Everything else, header
 * name case and order included, is compared as it came.
 */
import { decodeChunked, values } from "./http1.js";
import type { Case, Difference, Field, Observation, UpstreamRequest } from "./types.js";

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** The x-request-id values a case's client sends (kept as they are when they come back). */
export function sentRequestIds(c: Case): Set<string> {
  const out = new Set<string>();
  for (const ex of Array.isArray(c.exchange) ? c.exchange : [c.exchange]) {
    if (ex.kind === "h2") {
      for (const id of values(ex.headers, "x-request-id")) out.add(id);
      continue;
    }
    const text = typeof ex.send === "string" ? ex.send : ex.send.join("");
    for (const m of text.matchAll(/^x-request-id:[ \t]*(.*?)[ \t]*\r$/gim)) out.add(m[1] ?? "");
  }
  return out;
}

function requestId(value: string, sent: Set<string>): string {
  if (sent.has(value)) return value;
  return value.replace(UUID, (id) => (sent.has(id) ? id : "<generated>"));
}

function normaliseValue(name: string, value: string, sent: Set<string>): string {
  const lower = name.toLowerCase();
  if (lower === "date") return "<date>";
  if (lower === "x-request-id") return requestId(value, sent);
  if (lower === "x-envoy-upstream-service-time" && /^\d+$/.test(value)) return "<ms>";
  return value;
}

function normaliseBody(body: string, sent: Set<string>): string {
  return body.replace(UUID, (id) => (sent.has(id) ? id : "<generated>"));
}

function headerFields(out: Map<string, string>, prefix: string, headers: Field[], sent: Set<string>): void {
  out.set(`${prefix}.names`, headers.map(([n]) => n).join(", "));
  const byName = new Map<string, string[]>();
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    byName.set(key, [...(byName.get(key) ?? []), normaliseValue(name, value, sent)]);
  }
  for (const [name, vs] of byName) out.set(`${prefix}.header.${name}`, vs.join(" | "));
}

function fieldList(fields: Field[]): string {
  return fields.map(([n, v]) => `${n}: ${v}`).join("; ");
}

/**
 * An upstream request's body as compared: its framing (`content-length N`, `chunked`, `none`), the
 * data and the trailers. Chunk boundaries are not compared: they fall where a proxy's reads happened
 * to end (Envoy re-chunks what one read brought), which carries no meaning.
 */
export function upstreamBody(u: UpstreamRequest): { framing: string; data: string; trailers: Field[] } {
  if (u.protocol === "HTTP/2") return { framing: "h2", data: u.body, trailers: u.trailers };
  if (values(u.headers, "transfer-encoding").some((v) => /chunked/i.test(v))) {
    const { data, trailers } = decodeChunked(u.body);
    return { framing: "chunked", data, trailers };
  }
  const length = values(u.headers, "content-length")[0];
  return { framing: length === undefined ? "none" : `content-length ${length}`, data: u.body, trailers: [] };
}

/** The prefix of the i-th response's fields: none, `second.`, then `r2.`, `r3.`... */
function responsePrefix(i: number): string {
  return i === 0 ? "" : i === 1 ? "second." : `r${i}.`;
}

/** An upstream request's fields under `p`. */
function requestFields(out: Map<string, string>, p: string, u: UpstreamRequest, sent: Set<string>): void {
  out.set(`${p}.via`, `${u.upstream} ${u.protocol}`);
  out.set(`${p}.line`, u.line);
  headerFields(out, p, u.headers, sent);
  const body = upstreamBody(u);
  out.set(`${p}.framing`, body.framing);
  out.set(`${p}.body`, normaliseBody(body.data, sent));
  out.set(`${p}.trailers`, fieldList(body.trailers));
  out.set(`${p}.complete`, String(u.complete));
}

/**
 * The observation as named fields (a missing field compares as `<absent>`). Names: `start`, `status`,
 * `interim`, `error`, `closed`, `websocket`, `response.names`, `response.header.<name>`,
 * `response.body`, `response.trailers` (a second response: `second.*`; later ones `r2.*`, `r3.*`...),
 * `upstream.count`, `upstream[i].{via,line,names,header.<name>,framing,body,trailers,complete}`,
 * `stat.<name>`, `clusters.<cluster>::<host index>::<stat>`, `healthcheck.*` (the case's first health
 * check, as `upstream[i]`), `waited` (a wait that timed out).
 */
export function fields(o: Observation, sent: Set<string>): Map<string, string> {
  const out = new Map<string, string>();
  if (o.start !== undefined) {
    out.set("start", o.start);
    return out;
  }
  o.responses.forEach((r, i) => {
    const p = responsePrefix(i);
    out.set(`${p}status`, String(r.status));
    out.set(`${p}interim`, r.interim.join(","));
    headerFields(out, `${p}response`, r.headers, sent);
    out.set(`${p}response.body`, normaliseBody(r.body, sent));
    out.set(`${p}response.trailers`, fieldList(r.trailers));
  });
  if (o.responses.length === 0) out.set("status", "0");
  out.set("error", o.error);
  out.set("closed", String(o.closed));
  out.set("websocket", o.websocket);
  out.set("upstream.count", String(o.upstream.length));
  o.upstream.forEach((u, i) => {
    requestFields(out, `upstream[${i}]`, u, sent);
  });
  for (const [name, delta] of o.stats) out.set(`stat.${name}`, String(delta));
  for (const [name, value] of o.clusters ?? []) out.set(`clusters.${name}`, value);
  if (o.healthcheck !== undefined) requestFields(out, "healthcheck", o.healthcheck, sent);
  if (o.waited !== undefined) out.set("waited", o.waited);
  return out;
}

/** Stats absent on one side compare as a delta of 0; other absent fields as `<absent>`. */
function missing(field: string): string {
  return field.startsWith("stat.") ? "0" : "<absent>";
}

/** Every field whose value differs, in a stable order. */
export function compare(envoy: Observation, echomesh: Observation, sent: Set<string>): Difference[] {
  if (envoy.start !== undefined || echomesh.start !== undefined) {
    const [x, y] = [envoy.start ?? "started", echomesh.start ?? "started"];
    return x === y ? [] : [{ field: "start", envoy: x, echomesh: y }];
  }
  const a = fields(envoy, sent);
  const b = fields(echomesh, sent);
  const names = [...new Set([...a.keys(), ...b.keys()])];
  const out: Difference[] = [];
  for (const field of names) {
    const x = a.get(field) ?? missing(field);
    const y = b.get(field) ?? missing(field);
    if (x !== y) out.push({ field, envoy: x, echomesh: y });
  }
  return out;
}

/** A glob (`*` matches any run of characters) as an anchored regex. */
export function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split("*").map(escapeRegex).join(".*")}$`);
}

function escapeRegex(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}

/** A value for a diff line: control characters visible, long values cut. */
export function show(value: string, max = 240): string {
  const visible = JSON.stringify(value);
  return visible.length > max ? `${visible.slice(0, max)}... (${value.length} chars)` : visible;
}
