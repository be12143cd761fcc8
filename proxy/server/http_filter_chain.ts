/**
 * A listener's filter chain (Envoy's HTTP connection manager network filter with the router as its
 * one HTTP filter): the HCM's stats, the router, the configured access logs and the connection
 * manager that the listener hands its connections to. Built here, where the steps meet, so that the
 * listener stays L4 and `http/` does not import `router/`.
 */
import type { AccessLogEntry } from "../access_log/entry.js";
import { createAccessLoggers } from "../access_log/index.js";
import type { AccessLogManager } from "../access_log/writer.js";
import type { ConfigVersion, ListenerConfig } from "../config/model.js";
import { ConnectionManager } from "../http/conn_manager.js";
import { createHcmStats } from "../http/stats.js";
import { createListenerHttpStats } from "../listener/stats.js";
import { Router } from "../router/router.js";
import type { StatsStore } from "../stats/store.js";
import type { ClusterManager } from "../upstream/cluster.js";

export interface HttpFilterChainDeps {
  clusterManager: ClusterManager;
  stats: StatsStore;
  /** Opens the HCM's configured access logs (`hcm.accessLogs`); without it they are not written. */
  accessLogs?: AccessLogManager;
  /** Called with every finished stream (in addition to the configured access logs). */
  onRequestComplete?: (e: AccessLogEntry) => void;
  /** Uniform in [0, 1): weighted clusters, retry back-off. Default Math.random. */
  random?: () => number;
  /** The config file's dialect: v2 means what it meant to Envoy 1.7, v3 what it means to 1.40. Default v3. */
  dialect?: ConfigVersion;
  /** Request bytes buffered for retries (default 1 MiB). */
  retryBufferLimit?: number;
}

export function createHttpFilterChain(config: ListenerConfig, deps: HttpFilterChainDeps): ConnectionManager {
  const hcm = config.hcm;
  const stats = createHcmStats(
    deps.stats,
    hcm.statPrefix,
    createListenerHttpStats(deps.stats, config.address, hcm.statPrefix),
  );
  const router = new Router(hcm, {
    clusters: deps.clusterManager,
    hcmStats: stats,
    ...(deps.random ? { random: deps.random } : {}),
    ...(deps.retryBufferLimit !== undefined ? { retryBufferLimit: deps.retryBufferLimit } : {}),
    dialect: deps.dialect ?? "v3",
  });
  const logger = deps.accessLogs !== undefined ? createAccessLoggers(hcm.accessLogs, deps.accessLogs) : null;
  const extra = deps.onRequestComplete ?? null;
  const onRequestComplete =
    logger !== null && extra !== null
      ? (e: AccessLogEntry) => {
          logger.log(e);
          extra(e);
        }
      : logger !== null
        ? (e: AccessLogEntry) => logger.log(e)
        : extra;
  return new ConnectionManager(hcm, router, stats, onRequestComplete, deps.dialect ?? "v3");
}
