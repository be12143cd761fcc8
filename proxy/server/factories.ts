/**
 * The real parts the server is built from: HTTP listeners (proxy/listener/) and connection pools
 * (proxy/conn_pool/). Tests build ProxyServer from these too, or with fakes.
 */
import { createConnPool } from "../conn_pool/index.js";
import { createHttpListener, type HttpListenerDeps } from "../listener/listener.js";
import type { Factories } from "./startup.js";

/** `onRequestComplete` sees every finished stream besides the configured access logs (tests read it). */
export function defaultFactories(tap: Pick<HttpListenerDeps, "onRequestComplete"> = {}): Factories {
  return {
    createPool: (host, cluster, stats) => createConnPool(host, cluster, stats),
    createListener: (config, deps) =>
      createHttpListener(config, {
        clusterManager: deps.clusterManager,
        stats: deps.stats,
        accessLogs: deps.accessLogs,
        ...(deps.random ? { random: deps.random } : {}),
        dialect: deps.dialect,
        ...(tap.onRequestComplete ? { onRequestComplete: tap.onRequestComplete } : {}),
      }),
  };
}
