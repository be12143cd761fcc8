/**
 * The HPACK dynamic table (RFC 7541 2.3.2, 4): a FIFO of header fields bounded by size (name + value
 * octets + 32 each), newest first in indexing. A ring of parallel arrays, so adding and evicting are
 * O(1) and allocate nothing once the ring has grown.
 */
export const ENTRY_OVERHEAD = 32;

export class DynamicTable {
  names: string[] = new Array<string>(16);
  values: string[] = new Array<string>(16);
  /** Ring position of the oldest entry. */
  private start = 0;
  length = 0;
  /** Sum of entry sizes (RFC 7541 4.1). */
  size = 0;
  /** Called with the evicted entry's name, value and insertion number (the encoder's index). */
  onEvict: ((name: string, value: string, seq: number) => void) | null = null;
  /** Insertion number of the oldest entry: entries are numbered from 0 in insertion order. */
  private evicted = 0;

  constructor(public maxSize: number) {}

  /** Entry `i`, 0 the newest; the caller checks `i < length`. */
  name(i: number): string {
    return this.names[(this.start + this.length - 1 - i) & (this.names.length - 1)] as string;
  }

  value(i: number): string {
    return this.values[(this.start + this.length - 1 - i) & (this.values.length - 1)] as string;
  }

  /** Total insertions so far: entry with insertion number `seq` has index `inserted - 1 - seq`. */
  get inserted(): number {
    return this.evicted + this.length;
  }

  add(name: string, value: string): void {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    // An entry larger than the table empties it and is not added (RFC 7541 4.4).
    while (this.length > 0 && this.size + entrySize > this.maxSize) this.evictOldest();
    if (entrySize > this.maxSize) return;
    if (this.length === this.names.length) this.grow();
    const at = (this.start + this.length) & (this.names.length - 1);
    this.names[at] = name;
    this.values[at] = value;
    this.length++;
    this.size += entrySize;
  }

  setMaxSize(maxSize: number): void {
    this.maxSize = maxSize;
    while (this.length > 0 && this.size > maxSize) this.evictOldest();
  }

  private evictOldest(): void {
    const mask = this.names.length - 1;
    const name = this.names[this.start] as string;
    const value = this.values[this.start] as string;
    this.size -= name.length + value.length + ENTRY_OVERHEAD;
    this.onEvict?.(name, value, this.evicted);
    this.start = (this.start + 1) & mask;
    this.length--;
    this.evicted++;
  }

  private grow(): void {
    const n = this.names.length;
    const names = new Array<string>(n * 2);
    const values = new Array<string>(n * 2);
    for (let i = 0; i < this.length; i++) {
      names[i] = this.names[(this.start + i) & (n - 1)] as string;
      values[i] = this.values[(this.start + i) & (n - 1)] as string;
    }
    this.names = names;
    this.values = values;
    this.start = 0;
  }
}
