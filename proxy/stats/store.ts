/**
 * Envoy-named counters and gauges (`cluster.<name>.upstream_rq_total`, `http.<prefix>.downstream_rq_total`).
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
    let c = this.counters.get(name);
    if (c === undefined) {
      c = new Counter(name);
      this.counters.set(name, c);
    }
    return c;
  }

  gauge(name: string): Gauge {
    let g = this.gauges.get(name);
    if (g === undefined) {
      g = new Gauge(name);
      this.gauges.set(name, g);
    }
    return g;
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
