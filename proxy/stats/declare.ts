/**
 * Stats declared once per scope, as Envoy's stats macros do (`ALL_CLUSTER_STATS(COUNTER, GAUGE)`).
 *
 * A scope's declaration names every stat under its prefix (`cluster.<name>.`), its kind and what it
 * counts. Everything else comes from it:
 * - the typed stats object a component increments (`StatsOf<...>`: the type is derived, never
 *   written again), resolved once so that the request path only does `counter.value++`;
 * - the counters and gauges in the store, created when the scope is resolved, so a declared stat
 *   shows in the admin's `/stats` with 0 before its first use, as Envoy shows it;
 * - how the primary adds up a gauge across worker processes (`perProcess`);
 * - the stats tables of proxy/README.md (./readme.ts, `npm run docs:stats`).
 * Families of stats named by a value (`upstream_rq_<code>`, `<origin>.upstream_rq_<code>`) are
 * declared as patterns; the scope resolves each name once, on its first use (as Envoy creates them).
 */
import type { Counter, Gauge, StatsScope, StatsStore } from "./store.js";

export interface CounterDecl {
  readonly kind: "counter";
  /** One line for the README. */
  readonly help: string;
}

export interface GaugeDecl {
  readonly kind: "gauge";
  /** One line for the README. */
  readonly help: string;
  /**
   * Every worker process holds its own copy of the same value (cluster membership, server state):
   * with `--concurrency N` the primary shows the largest instead of the sum.
   */
  readonly perProcess: boolean;
}

export type StatDecl = CounterDecl | GaugeDecl;

export type StatDecls = Readonly<Record<string, StatDecl>>;

/** Counters named by a value, keyed by their name with the placeholder: `upstream_rq_<code>`. */
export type PatternDecls = Readonly<Record<string, CounterDecl>>;

export interface ScopeDecl<S extends StatDecls = StatDecls, P extends PatternDecls = PatternDecls> {
  /** The prefix of every name, a placeholder in angle brackets: `cluster.<name>.`. */
  readonly prefix: string;
  /** What the scope belongs to, for the README's heading. */
  readonly title: string;
  readonly stats: S;
  readonly patterns: P;
}

/** The stats object of a declaration: a Counter or a Gauge per declared name. */
export type StatsOf<S extends StatDecls> = {
  readonly [N in keyof S]: S[N] extends CounterDecl ? Counter : Gauge;
};

export function counter(help: string): CounterDecl {
  return { kind: "counter", help };
}

export function gauge(help: string, opts: { perProcess?: boolean } = {}): GaugeDecl {
  return { kind: "gauge", help, perProcess: opts.perProcess ?? false };
}

/** A scope's declaration, its literal names kept in its type (so `StatsOf` knows each one). */
export function declareScope<S extends StatDecls, P extends PatternDecls = Record<never, CounterDecl>>(decl: {
  prefix: string;
  title: string;
  stats: S;
  patterns?: P;
}): ScopeDecl<S, P> {
  return { ...decl, patterns: decl.patterns ?? ({} as P) };
}

/**
 * A name with its `<placeholder>`s filled in, in order: `("cluster.<name>.", "service1")` ->
 * `cluster.service1.`, `("<origin>.upstream_rq_<code>", "external", 503)` -> `external.upstream_rq_503`.
 */
export function fillName(template: string, ...values: ReadonlyArray<string | number>): string {
  let i = 0;
  return template.replace(/<[^>]+>/g, (placeholder) => String(values[i++] ?? placeholder));
}

/** One scope of the store under its declaration, its stats resolved. */
export interface ResolvedScope<S extends StatDecls, P extends PatternDecls> {
  readonly stats: StatsOf<S>;
  /**
   * The Counter of a pattern for its values, one per placeholder (`upstream_rq_<code>`, 503 ->
   * `upstream_rq_503`). Builds a name: call it once per value and keep the Counter, never per request.
   */
  patternCounter(pattern: keyof P & string, ...values: ReadonlyArray<string | number>): Counter;
}

/**
 * Creates every declared stat of `decl` in the store under its prefix, the prefix's placeholders
 * filled with `prefixValues` (the cluster's name, the connection manager's `stat_prefix`, a
 * listener's address).
 */
export function resolveScope<S extends StatDecls, P extends PatternDecls>(
  store: StatsStore,
  decl: ScopeDecl<S, P>,
  ...prefixValues: string[]
): ResolvedScope<S, P> {
  const scope = store.scope(fillName(decl.prefix, ...prefixValues));
  return {
    stats: resolveStats(scope, decl.stats),
    patternCounter: (pattern, ...values) => scope.counter(fillName(pattern, ...values)),
  };
}

function resolveStats<S extends StatDecls>(scope: StatsScope, decls: S): StatsOf<S> {
  const out: Record<string, Counter | Gauge> = {};
  for (const [name, decl] of Object.entries(decls)) {
    out[name] = decl.kind === "counter" ? scope.counter(name) : scope.gauge(name);
  }
  return out as StatsOf<S>;
}
