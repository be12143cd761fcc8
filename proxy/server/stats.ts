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
