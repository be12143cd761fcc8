import type { Host } from "../upstream/host.js";

/** One host in the scheduler. `picks` counts how often it was chosen since the last reset. */
export interface EdfEntry {
  readonly host: Host;
  deadline: number;
  /** Insertion order: equal deadlines go to the entry scheduled first (as Envoy's `order_offset_`). */
  order: number;
  picks: number;
}

/**
 * Earliest-deadline-first scheduler (Envoy's `EdfScheduler`): a binary min-heap on (deadline, order).
 * The caller reads `top()`, then `reschedule()`s it to a later deadline; both without allocation,
 * reschedule in O(log n).
 */
export class EdfScheduler {
  private heap: EdfEntry[] = [];
  private nextOrder = 0;

  /** Rebuild with one entry per host at `deadlineOf(host)`. */
  reset(hosts: readonly Host[], deadlineOf: (host: Host) => number): void {
    this.nextOrder = 0;
    this.heap = hosts.map((host) => ({
      host,
      deadline: deadlineOf(host),
      order: this.nextOrder++,
      picks: 0,
    }));
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  get size(): number {
    return this.heap.length;
  }

  /** The entry with the earliest deadline; undefined when empty. */
  top(): EdfEntry | undefined {
    return this.heap[0];
  }

  /** Move the top entry to `deadline`; it goes after entries that already have that deadline. */
  rescheduleTop(deadline: number): void {
    const top = this.heap[0];
    if (top === undefined) return;
    top.deadline = deadline;
    top.order = this.nextOrder++;
    this.siftDown(0);
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const entry = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let child = l;
      if (r < n && before(heap[r]!, heap[l]!)) child = r;
      if (!before(heap[child]!, entry)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = entry;
  }
}

function before(a: EdfEntry, b: EdfEntry): boolean {
  return a.deadline < b.deadline || (a.deadline === b.deadline && a.order < b.order);
}
