import type { ClusterConfig, UpstreamProtocol } from "../config/model.js";
import { createUpstreamTls, type UpstreamTls } from "../tls/client.js";
import type { ClusterStats } from "../upstream/host.js";
import { defaultSocketFactory, type SocketFactory } from "./connector.js";

/** Knobs that are not in the config model; tests use them to inject sockets. */
export interface PoolOptions {
  /** Opens the TCP socket to the host (default: `net.connect`, no-delay, keep-alive). */
  socketFactory: SocketFactory;
}

export function poolOptions(overrides?: Partial<PoolOptions>): PoolOptions {
  return { socketFactory: overrides?.socketFactory ?? defaultSocketFactory };
}

/** The cluster's TLS transport socket for connections of `protocol` (its ALPN); null for a plain cluster. */
export function upstreamTls(
  cluster: ClusterConfig,
  protocol: UpstreamProtocol,
  stats: ClusterStats,
): UpstreamTls | null {
  if (cluster.tls === undefined || stats.ssl === null) return null;
  return createUpstreamTls(cluster.tls, protocol, stats.ssl);
}
