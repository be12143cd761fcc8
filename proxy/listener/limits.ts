import { resolveScope } from "../stats/declare.js";
import type { StatsStore } from "../stats/store.js";
import { GLOBAL_CONNECTIONS_STATS, type GlobalConnectionsStats } from "./stats.js";

/**
 * The overload manager's `global_downstream_max_connections`: the open connections of every listener
 * that counts toward it (not `ignore_global_conn_limit`), against one maximum. One count per proxy
 * process: Envoy shares it across its worker threads, a `--concurrency N` worker here is a process
 * with its own (docs/ENVOY-DIFFERENCES.md).
 */
export class GlobalConnections {
  private active = 0;

  constructor(
    readonly max: number,
    private readonly stats: GlobalConnectionsStats,
  ) {}

  /** Counts a new connection; false (counted in `failed_updates`, as Envoy) when the limit is reached. */
  tryAllocate(): boolean {
    if (this.active >= this.max) {
      this.stats.failed_updates.value++;
      return false;
    }
    this.active++;
    return true;
  }

  /** A counted connection has closed. */
  release(): void {
    this.active--;
  }
}

/** The listeners of one proxy share its stats store, and so its one count. */
const byStore = new WeakMap<StatsStore, GlobalConnections>();

export function globalConnections(store: StatsStore, max: number): GlobalConnections {
  let global = byStore.get(store);
  if (global === undefined) {
    global = new GlobalConnections(max, resolveScope(store, GLOBAL_CONNECTIONS_STATS).stats);
    byStore.set(store, global);
  }
  return global;
}
