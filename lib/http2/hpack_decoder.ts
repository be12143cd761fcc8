/**
 * The HPACK decoder (RFC 7541 3, 6): one per connection, fed each complete header block in order.
 * Fields come out as a flat `[name, value, name, value...]` array of latin1 strings (no object per
 * field). Any malformed block is a HpackError, which the connection turns into a connection error of
 * type COMPRESSION_ERROR (RFC 9113 4.3).
 */
import { DynamicTable, ENTRY_OVERHEAD } from "./hpack_table.js";
import { HuffmanError, huffmanDecode } from "./huffman.js";
import { STATIC_NAMES, STATIC_TABLE_LENGTH, STATIC_VALUES } from "./static_table.js";

export class HpackError extends Error {}

/** Integers above this are refused: no field, index or table size of ours is near it. */
const MAX_INT = 0x7fffffff;

export class HpackDecoder {
  readonly table: DynamicTable;
  /** The bound the peer's size updates must respect: our SETTINGS_HEADER_TABLE_SIZE. */
  maxTableSize: number;
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;

  constructor(maxTableSize = 4096) {
    this.maxTableSize = maxTableSize;
    this.table = new DynamicTable(maxTableSize);
  }

  /**
   * Appends the fields of `block` to `out`; returns the header list size (RFC 9113 6.5.2: octets of
   * names and values plus 32 per field). The whole block is always decoded, even past a caller's
   * size limit, since the dynamic table must stay in step with the encoder's.
   */
  decode(block: Buffer, out: string[]): number {
    this.buf = block;
    this.pos = 0;
    const end = block.length;
    let listSize = 0;
    let fieldSeen = false;
    try {
      while (this.pos < end) {
        const b = block[this.pos] as number;
        let name: string;
        let value: string;
        if (b & 0x80) {
          // Indexed field (6.1).
          const index = this.integer(7);
          name = this.nameAt(index);
          value = this.valueAt(index);
        } else if ((b & 0xc0) === 0x40) {
          // Literal with incremental indexing (6.2.1).
          const index = this.integer(6);
          name = index === 0 ? this.string() : this.nameAt(index);
          value = this.string();
          this.table.add(name, value);
        } else if ((b & 0xe0) === 0x20) {
          // Dynamic table size update (6.3): only before the first field of a block (4.2).
          if (fieldSeen) throw new HpackError("table size update after a field");
          const size = this.integer(5);
          if (size > this.maxTableSize) throw new HpackError("table size update above the limit");
          this.table.setMaxSize(size);
          continue;
        } else {
          // Literal without indexing (6.2.2) or never indexed (6.2.3).
          const index = this.integer(4);
          name = index === 0 ? this.string() : this.nameAt(index);
          value = this.string();
        }
        fieldSeen = true;
        out.push(name, value);
        listSize += name.length + value.length + ENTRY_OVERHEAD;
      }
    } catch (err) {
      if (err instanceof HuffmanError) throw new HpackError(err.message);
      throw err;
    } finally {
      this.buf = EMPTY;
    }
    return listSize;
  }

  private nameAt(index: number): string {
    if (index === 0) throw new HpackError("index 0");
    if (index <= STATIC_TABLE_LENGTH) return STATIC_NAMES[index - 1] as string;
    const i = index - STATIC_TABLE_LENGTH - 1;
    if (i >= this.table.length) throw new HpackError(`index ${index} beyond the tables`);
    return this.table.name(i);
  }

  private valueAt(index: number): string {
    if (index <= STATIC_TABLE_LENGTH) return STATIC_VALUES[index - 1] as string;
    return this.table.value(index - STATIC_TABLE_LENGTH - 1);
  }

  /** An integer with an N-bit prefix (5.1), starting at the current octet. */
  private integer(prefixBits: number): number {
    const buf = this.buf;
    const mask = (1 << prefixBits) - 1;
    let value = (buf[this.pos++] as number) & mask;
    if (value < mask) return value;
    let shift = 0;
    for (;;) {
      if (this.pos >= buf.length) throw new HpackError("truncated integer");
      const b = buf[this.pos++] as number;
      value += (b & 0x7f) * 2 ** shift;
      if (value > MAX_INT) throw new HpackError("integer too large");
      if ((b & 0x80) === 0) return value;
      shift += 7;
    }
  }

  /** A string literal (5.2). */
  private string(): string {
    if (this.pos >= this.buf.length) throw new HpackError("truncated string");
    const huffman = ((this.buf[this.pos] as number) & 0x80) !== 0;
    const length = this.integer(7);
    const start = this.pos;
    const end = start + length;
    if (end > this.buf.length) throw new HpackError("string beyond the block");
    this.pos = end;
    return huffman ? huffmanDecode(this.buf, start, end) : this.buf.toString("latin1", start, end);
  }
}

const EMPTY = Buffer.alloc(0);
