/** Small builders the case files share: raw HTTP/1.1 requests and responses, common configs. */
import { config } from "../config.js";
import type { Answer, Doc, Field, H1Exchange, H2Exchange } from "../types.js";

/** A raw HTTP/1.x request: the line, header lines as written (`"name: value"`), the body. */
export function req(line: string, headers: string[] = [], body = ""): string {
  return `${line}\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n${body}`;
}

/** `GET <path> HTTP/1.1` with `host: example.com` and the given header lines. */
export function get(path = "/", ...headers: string[]): string {
  return req(`GET ${path} HTTP/1.1`, ["host: example.com", ...headers]);
}

/** An HTTP/1.1 exchange of `send`. */
export function h1(send: string | string[], extra: Omit<H1Exchange, "kind" | "send"> = {}): H1Exchange {
  return { kind: "h1", send, ...extra };
}

/** An h2c request: `:method`, `:scheme`, `:authority`, `:path`, then `headers`. */
export function h2(
  method: string,
  path: string,
  headers: Field[] = [],
  extra: Omit<H2Exchange, "kind" | "headers"> = {},
): H2Exchange {
  return {
    kind: "h2",
    headers: [
      [":method", method],
      [":scheme", "http"],
      [":authority", "example.com"],
      [":path", path],
      ...headers,
    ],
    ...extra,
  };
}

/** A raw HTTP/1.1 response with the given header lines and body (content-length added unless `length: false`). */
export function resp(status: string, headers: string[] = [], body = "", length = true): Answer {
  const all = length ? [...headers, `content-length: ${Buffer.byteLength(body, "latin1")}`] : headers;
  return { raw: `HTTP/1.1 ${status}\r\n${all.map((h) => `${h}\r\n`).join("")}\r\n${body}` };
}

/** Every route to `raw`. */
export const BASIC: Doc = config();

/** An edge proxy: `use_remote_address: true`. */
export const EDGE: Doc = config({ hcm: { use_remote_address: true } });

/** `n` header lines `x-h<i>: v`. */
export function manyHeaders(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `x-h${i}: v`);
}
