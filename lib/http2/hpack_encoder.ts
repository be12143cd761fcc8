/**
 * The HPACK encoder (RFC 7541 6): one per connection. Exact static matches are indexed; other fields
 * are literals, added to the dynamic table unless their value is per-message (paths, lengths, dates,
 * ids) or a credential (never indexed, 7.1.3). Strings are Huffman-coded when that is shorter.
 */
import { DynamicTable, ENTRY_OVERHEAD } from "./hpack_table.js";
import { huffmanEncode, huffmanLength } from "./huffman.js";
import { STATIC_LOOKUP, STATIC_TABLE_LENGTH } from "./static_table.js";

/** Values that change with every message: indexing them only churns the table. */
const NOT_INDEXED = new Set([
  ":path",
  "content-length",
  "date",
  "etag",
  "last-modified",
  "if-modified-since",
  "if-none-match",
  "location",
  "age",
  "x-request-id",
  "x-envoy-expected-rq-timeout-ms",
  "cookie",
  "set-cookie",
]);

/** Credentials: "never indexed", so that no intermediary indexes them either (RFC 7541 7.1.3). */
const NEVER_INDEXED = new Set(["authorization", "proxy-authorization"]);

export class HpackEncoder {
  private readonly table: DynamicTable;
  /** name -> value -> insertion number in the dynamic table. */
  private readonly dynamic = new Map<string, Map<string, number>>();
  /** Smallest size set since the last block, and the final one: both are signalled (RFC 7541 4.2). */
  private pendingMin = -1;
  private pendingSize = -1;

  /** `maxTableSize`: what we use at most, whatever the peer allows (Envoy and nghttp2: 4096). */
  constructor(private readonly maxTableSize = 4096) {
    this.table = new DynamicTable(maxTableSize);
    this.table.onEvict = (name, value, seq) => {
      const values = this.dynamic.get(name);
      if (values !== undefined && values.get(value) === seq) {
        values.delete(value);
        if (values.size === 0) this.dynamic.delete(name);
      }
    };
  }

  /** The peer's SETTINGS_HEADER_TABLE_SIZE. */
  setPeerTableSize(size: number): void {
    const next = Math.min(size, this.maxTableSize);
    if (next === this.table.maxSize && this.pendingSize === -1) return;
    this.pendingMin = this.pendingMin === -1 ? next : Math.min(this.pendingMin, next);
    this.pendingSize = next;
    this.table.setMaxSize(next);
  }

  /** An upper bound of the encoded size of `fields`, for the caller's buffer. */
  static bound(fields: readonly string[]): number {
    let n = 12;
    for (let i = 0; i < fields.length; i++) n += (fields[i] as string).length + 12;
    return n;
  }

  /** Encodes the flat `[name, value...]` list at `dst[offset]`; returns the offset after it. */
  encode(fields: readonly string[], dst: Buffer, offset: number): number {
    let o = offset;
    if (this.pendingSize !== -1) {
      if (this.pendingMin < this.pendingSize) o = writeInt(dst, o, 0x20, 5, this.pendingMin);
      o = writeInt(dst, o, 0x20, 5, this.pendingSize);
      this.pendingMin = -1;
      this.pendingSize = -1;
    }
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i] as string;
      const value = fields[i + 1] as string;
      const stat = STATIC_LOOKUP.get(name);
      if (stat !== undefined) {
        const exact = stat.values.get(value);
        if (exact !== undefined) {
          o = writeInt(dst, o, 0x80, 7, exact);
          continue;
        }
      }
      const values = this.dynamic.get(name);
      if (values !== undefined) {
        const seq = values.get(value);
        if (seq !== undefined) {
          o = writeInt(dst, o, 0x80, 7, STATIC_TABLE_LENGTH + this.table.inserted - seq);
          continue;
        }
      }
      const nameIndex = stat !== undefined ? stat.index : 0;
      if (NEVER_INDEXED.has(name)) {
        o = writeInt(dst, o, 0x10, 4, nameIndex);
      } else if (
        NOT_INDEXED.has(name) ||
        name.length + value.length + ENTRY_OVERHEAD > this.table.maxSize >>> 1
      ) {
        o = writeInt(dst, o, 0x00, 4, nameIndex);
      } else {
        o = writeInt(dst, o, 0x40, 6, nameIndex);
        this.index(name, value);
      }
      if (nameIndex === 0) o = writeString(dst, o, name);
      o = writeString(dst, o, value);
    }
    return o;
  }

  private index(name: string, value: string): void {
    const seq = this.table.inserted;
    this.table.add(name, value);
    if (this.table.inserted === seq) return; // too large: not added
    let values = this.dynamic.get(name);
    if (values === undefined) {
      values = new Map();
      this.dynamic.set(name, values);
    }
    values.set(value, seq);
  }
}

/** An integer with an N-bit prefix and the given high bits (RFC 7541 5.1). */
export function writeInt(
  dst: Buffer,
  offset: number,
  high: number,
  prefixBits: number,
  value: number,
): number {
  const max = (1 << prefixBits) - 1;
  let o = offset;
  if (value < max) {
    dst[o++] = high | value;
    return o;
  }
  dst[o++] = high | max;
  let rest = value - max;
  while (rest >= 128) {
    dst[o++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  dst[o++] = rest;
  return o;
}

/** A string literal, Huffman-coded when shorter (RFC 7541 5.2). */
export function writeString(dst: Buffer, offset: number, s: string): number {
  const h = s.length > 0 ? huffmanLength(s) : 0;
  if (h < s.length) {
    const o = writeInt(dst, offset, 0x80, 7, h);
    return huffmanEncode(s, dst, o);
  }
  const o = writeInt(dst, offset, 0x00, 7, s.length);
  return o + dst.write(s, o, s.length, "latin1");
}
