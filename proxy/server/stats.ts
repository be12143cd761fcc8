import { counter, declareScope, gauge, resolveScope, type StatsOf } from "../stats/declare.js";
import type { StatsStore } from "../stats/store.js";

/** The server's stats (Envoy's `ALL_SERVER_STATS`), under `server.`. */
export const SERVER_STATS = declareScope({
  prefix: "server.",
  title: "Server",
  stats: {
    live: gauge("1 while serving, 0 before every listener is bound and while draining", { perProcess: true }),
    state: gauge("0 LIVE, 1 DRAINING, 2 PRE_INITIALIZING, 3 INITIALIZING", { perProcess: true }),
    uptime: gauge("Seconds since the start", { perProcess: true }),
    concurrency: gauge("Worker processes (`--concurrency`)", { perProcess: true }),
    envoy_bug_failures: counter(
      "Bugs that reached the top of the stack (uncaught exceptions, unhandled rejections); serving continues. Tests assert 0",
    ),
  },
});

export type ServerStats = StatsOf<typeof SERVER_STATS.stats>;

export function createServerStats(store: StatsStore): ServerStats {
  return resolveScope(store, SERVER_STATS).stats;
}

/** The listener manager's stats (Envoy's `ALL_LISTENER_MANAGER_STATS`, the ones a reload moves). */
export const LISTENER_MANAGER_STATS = declareScope({
  prefix: "listener_manager.",
  title: "Listener manager",
  stats: {
    listener_added: counter("Listeners added (at start, by reloads and LDS updates)"),
    listener_modified: counter("Listeners replaced by a reload or LDS update with a changed config"),
    listener_in_place_updated: counter(
      "Modified listeners that kept their socket (same address): new filter chain for new connections",
    ),
    listener_removed: counter("Listeners removed by a reload or LDS update"),
    listener_stopped: counter("Listeners stopped by `POST /drain_listeners`"),
    listener_create_failure: counter("Listeners of a reload or LDS update that could not be bound"),
    total_listeners_active: gauge("Listeners serving", { perProcess: true }),
    total_listeners_draining: gauge("Removed or replaced listeners still draining", { perProcess: true }),
  },
});

/** A file subscription's stats (Envoy's `ALL_SUBSCRIPTION_STATS`): `update_*` and `version`. */
const subscriptionStats = (what: string) => ({
  update_attempt: counter(`${what} file reads (at start and each time a file is moved into place)`),
  update_success: counter(`${what} files applied`),
  update_rejected: counter(`${what} files that failed validation (the previous config keeps serving)`),
  update_failure: counter(
    `${what} files that could not be read or parsed (the previous config keeps serving)`,
  ),
  version: gauge(
    "A hash of the applied file's `version_info` (Envoy's is xxHash64; this is FNV-1a 53 bit); the text is in /config_dump",
    { perProcess: true },
  ),
});

/** `cluster_manager.cds.*`, present with `dynamic_resources.cds_config`. */
export const CDS_STATS = declareScope({
  prefix: "cluster_manager.cds.",
  title: "CDS from a file (`dynamic_resources.cds_config`)",
  stats: subscriptionStats("CDS"),
});

/** `listener_manager.lds.*`, present with `dynamic_resources.lds_config`. */
export const LDS_STATS = declareScope({
  prefix: "listener_manager.lds.",
  title: "LDS from a file (`dynamic_resources.lds_config`)",
  stats: subscriptionStats("LDS"),
});

export type ListenerManagerStats = StatsOf<typeof LISTENER_MANAGER_STATS.stats>;
export type SubscriptionStats = StatsOf<typeof CDS_STATS.stats>;

export function createListenerManagerStats(store: StatsStore): ListenerManagerStats {
  return resolveScope(store, LISTENER_MANAGER_STATS).stats;
}

export function createSubscriptionStats(store: StatsStore, kind: "lds" | "cds"): SubscriptionStats {
  return resolveScope(store, kind === "lds" ? LDS_STATS : CDS_STATS).stats;
}

/** FNV-1a over the text, kept to 53 bits (a gauge is a JS number). */
export function versionHash(text: string): number {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(text, "utf8")) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return Number(h & 0x1fffffffffffffn);
}
