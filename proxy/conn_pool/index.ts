import type { ConnPool } from "../api/upstream.js";
import type { ClusterConfig } from "../config/model.js";
import type { ClusterStats, Host } from "../upstream/host.js";
import { Http1Pool } from "./http1_pool.js";
import { Http2Pool } from "./http2_pool.js";
import { type PoolOptions, poolOptions } from "./options.js";

export * from "../api/upstream.js";
export { ConnectFailure, type SocketFactory } from "./connector.js";
export type { PoolOptions } from "./options.js";
export { type SpliceOptions, splice } from "./splice.js";

/** The connection pool for one host of `cluster`: HTTP/1.1 keep-alive or h2c prior knowledge. */
export function createConnPool(
  host: Host,
  cluster: ClusterConfig,
  stats: ClusterStats,
  options?: Partial<PoolOptions>,
): ConnPool {
  const opts = poolOptions(options);
  return cluster.protocol === "http2"
    ? new Http2Pool(host, cluster, stats, opts)
    : new Http1Pool(host, cluster, stats, opts);
}
