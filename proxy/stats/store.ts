/**
 * Envoy-named counters and gauges (`cluster.<name>.upstream_rq_total`, `http.<prefix>.downstream_rq_total`).
 * Components do not name stats here: each scope declares its stats once (./declare.ts) and resolves
 * them through this store.
 *
 * Hot path rule: resolve a Counter once (at config time) and keep the reference; `counter.value++`
 * per request costs nothing. Only dynamic names (`upstream_rq_503`) go through the map, once per name.
 */
export class Counter {
  value = 0;
  constructor(readonly name: string) {}
  inc(n = 1): void {
    this.value += n;
  }
}

export class Gauge {
  value = 0;
  constructor(readonly name: string) {}
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
  set(v: number): void {
    this.value = v;
  }
}

export interface StatsSnapshot {
  counters: Record<string, number>;
  gauges: Record<string, number>;
}

export class StatsStore {
  private readonly counters = new Map<string, Counter>();
  private readonly gauges = new Map<string, Gauge>();

  counter(name: string): Counter {
    return this.counters.get(name) ?? added(this.counters, new Counter(name));
  }

  gauge(name: string): Gauge {
    return this.gauges.get(name) ?? added(this.gauges, new Gauge(name));
  }

  /** A scope prefixes every name: `store.scope("cluster.myservice.").counter("upstream_rq_total")`. */
  scope(prefix: string): StatsScope {
    return new StatsScope(this, prefix);
  }

  snapshot(): StatsSnapshot {
    const counters: Record<string, number> = {};
    const gauges: Record<string, number> = {};
    for (const [k, c] of this.counters) counters[k] = c.value;
    for (const [k, g] of this.gauges) gauges[k] = g.value;
    return { counters, gauges };
  }
}

export class StatsScope {
  constructor(
    private readonly store: StatsStore,
    readonly prefix: string,
  ) {}
  counter(name: string): Counter {
    return this.store.counter(this.prefix + name);
  }
  gauge(name: string): Gauge {
    return this.store.gauge(this.prefix + name);
  }
}

/** Adds a new stat to its map (by its name) and returns it. */
function added<T extends { readonly name: string }>(map: Map<string, T>, stat: T): T {
  map.set(stat.name, stat);
  return stat;
}
