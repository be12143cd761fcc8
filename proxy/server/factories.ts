/**
 * The real parts the server is built from: HTTP listeners (proxy/listener/) and connection pools
 * (proxy/conn_pool/). Tests build ProxyServer with fakes instead.
 */
import { createConnPool } from "../conn_pool/index.js";
import { createHttpListener } from "../listener/listener.js";
import type { Factories } from "./startup.js";

export function defaultFactories(): Factories {
  return {
    createPool: (host, cluster, stats) => createConnPool(host, cluster, stats),
    createListener: (config, deps) =>
      createHttpListener(config, {
        clusterManager: deps.clusterManager,
        stats: deps.stats,
        accessLogs: deps.accessLogs,
      }),
  };
}
