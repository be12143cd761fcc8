/** Header fields (`Field` lists, in order) to and from node:http2's shapes. */
import type http2 from "node:http2";
import type { Field } from "./types.js";

/** node:http2's header object for `fields`: a repeated name becomes an array of its values. */
export function headerObject(fields: Field[]): http2.OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of fields) {
    const prev = out[name];
    out[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  return out;
}

/** The fields of a raw `[name, value, name, value, ...]` list. */
export function pairs(raw: string[]): Field[] {
  const out: Field[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i] ?? "", raw[i + 1] ?? ""]);
  return out;
}
