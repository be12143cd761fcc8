/**
 * The real parts the server is built from: listeners (proxy/listener/) with their HTTP filter chain
 * (./http_filter_chain.ts), and connection pools (proxy/conn_pool/). Tests build ProxyServer from
 * these too, or with fakes.
 */
import { createConnPool } from "../conn_pool/index.js";
import { createListener } from "../listener/listener.js";
import { createHttpFilterChain, type HttpFilterChainDeps } from "./http_filter_chain.js";
import type { Factories } from "./startup.js";

/** `onRequestComplete` sees every finished stream besides the configured access logs (tests read it). */
export function defaultFactories(tap: Pick<HttpFilterChainDeps, "onRequestComplete"> = {}): Factories {
  return {
    createPool: (host, cluster, stats) => createConnPool(host, cluster, stats),
    createListener: (config, deps) =>
      createListener(
        config,
        createHttpFilterChain(config, {
          clusterManager: deps.clusterManager,
          stats: deps.stats,
          accessLogs: deps.accessLogs,
          ...(deps.random ? { random: deps.random } : {}),
          dialect: deps.dialect,
          ...(tap.onRequestComplete ? { onRequestComplete: tap.onRequestComplete } : {}),
        }),
        deps.stats,
      ),
  };
}
