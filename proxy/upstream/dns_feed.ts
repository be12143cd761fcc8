/**
 * DNS outcomes resolved in one place and followed elsewhere: with `--concurrency N`, the primary
 * process resolves every strict_dns/logical_dns name once per refresh (as Envoy's main thread does)
 * and pushes each outcome to the workers, whose DNS clusters follow this feed instead of resolving
 * themselves (./dns_cluster.ts).
 */
import type { Resolver } from "./resolver.js";

/** The outcome of one lookup of one name of a cluster: its addresses, or null when it failed. */
export interface DnsOutcome {
  cluster: string;
  /** The endpoint's index in the cluster's config. */
  index: number;
  addresses: string[] | null;
}

/** Where a DNS cluster's answers come from. */
export type DnsSource =
  /** Look names up here; every outcome also goes to `onOutcome` (the primary passes them on). */
  | { kind: "resolve"; resolver: Resolver; onOutcome: ((o: DnsOutcome) => void) | null }
  /** Follow the outcomes another process pushes (a worker: the primary resolves). */
  | { kind: "follow"; feed: DnsFeed };

type Listener = (addresses: string[] | null) => void;

/**
 * The outcomes pushed so far, per name: the last successful answer is replayed to a cluster that
 * subscribes later (a failure after it changes nothing, as for a cluster that resolves itself).
 */
export class DnsFeed {
  private readonly answers = new Map<string, string[]>();
  private readonly failed = new Set<string>();
  private readonly listeners = new Map<string, Listener>();

  push(o: DnsOutcome): void {
    const key = `${o.index}:${o.cluster}`;
    if (o.addresses === null) this.failed.add(key);
    else this.answers.set(key, o.addresses);
    this.listeners.get(key)?.(o.addresses);
  }

  /** `onOutcome` hears every outcome for this name from now on, the latest one first if there was one. */
  subscribe(cluster: string, index: number, onOutcome: Listener): void {
    const key = `${index}:${cluster}`;
    this.listeners.set(key, onOutcome);
    const answer = this.answers.get(key);
    if (answer !== undefined) onOutcome(answer);
    else if (this.failed.has(key)) onOutcome(null);
  }

  unsubscribe(cluster: string, index: number): void {
    this.listeners.delete(`${index}:${cluster}`);
  }
}
