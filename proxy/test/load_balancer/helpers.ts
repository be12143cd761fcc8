import type { Host } from "../../upstream/host.js";

/** mulberry32: a tiny seeded PRNG so random-dependent tests are deterministic. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How often each host (by hostname) is chosen in `n` picks; every pick must find a host. */
export function count(lb: { choose(): Host | null }, n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const h = lb.choose();
    if (h === null) throw new Error(`pick ${i} found no host`);
    m.set(h.hostname, (m.get(h.hostname) ?? 0) + 1);
  }
  return m;
}
