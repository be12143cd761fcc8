/**
 * An HTTP listener: a net.Server bound to the listener's address that hands each accepted socket to
 * the connection manager's HTTP/1.1 or h2c server, per `codec_type` (auto sniffs the HTTP/2 preface,
 * as Envoy's AUTO codec does without ALPN). Envoy's connection limits apply at accept: the
 * listener's own (runtime) and the overload manager's global one.
 */
import net, { type AddressInfo, type Socket } from "node:net";
import { ignoreAcceptError, ignoreErrorHandledOnClose } from "../../lib/errors.js";
import { type SniffedProtocol, sniff } from "../../lib/h2c_sniff.js";
import type { AccessLogEntry } from "../access_log/entry.js";
import { createAccessLoggers } from "../access_log/index.js";
import type { AccessLogManager } from "../access_log/writer.js";
import type { ConfigVersion, ListenerConfig } from "../config/model.js";
import { ConnectionManager } from "../http/conn_manager.js";
import { createHcmStats, type HcmStats } from "../http/stats.js";
import { Router } from "../router/router.js";
import type { StatsStore } from "../stats/store.js";
import type { ClusterManager } from "../upstream/cluster.js";
import { globalConnections } from "./limits.js";
import { createListenerHttpStats, createListenerStats } from "./stats.js";

export interface HttpListenerDeps {
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

export interface HttpListener {
  readonly name: string;
  readonly server: net.Server;
  readonly stats: HcmStats;
  /** Bind; resolves with the bound address (port 0 -> the real port). */
  listen(): Promise<AddressInfo>;
  /**
   * Stop accepting; HTTP/1.1 responses get `connection: close`, HTTP/2 sessions a GOAWAY, idle
   * connections close. Resolves when every connection is gone (the caller bounds the wait).
   */
  drain(): Promise<void>;
  /** Stop accepting and destroy every connection now. */
  close(): Promise<void>;
}

/** Sockets that send nothing decisive for this long during sniffing are closed. */
const SNIFF_TIMEOUT_MS = 60_000;

export function createHttpListener(config: ListenerConfig, deps: HttpListenerDeps): HttpListener {
  const hcm = config.hcm;
  const stats = createHcmStats(
    deps.stats,
    hcm.statPrefix,
    createListenerHttpStats(deps.stats, config.address, hcm.statPrefix),
  );
  const listenerStats = createListenerStats(deps.stats, config.address);
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
  const cm = new ConnectionManager(hcm, router, stats, onRequestComplete, deps.dialect ?? "v3");

  const sockets = new Set<Socket>();
  // Envoy's connection limits: past one, a connection is closed as soon as it is accepted (not
  // counted in downstream_cx_total); the overload manager's is checked first, as in Envoy.
  const connectionLimit = config.connectionLimit;
  const global =
    config.globalConnectionLimit === null
      ? null
      : globalConnections(deps.stats, config.globalConnectionLimit);
  let draining = false;
  let drained: (() => void) | null = null;
  const sniffTimeout =
    hcm.idleTimeoutMs > 0 ? Math.min(hcm.idleTimeoutMs, SNIFF_TIMEOUT_MS) : SNIFF_TIMEOUT_MS;

  const dispatch = (socket: Socket, protocol: SniffedProtocol): void => {
    if (socket.destroyed) return;
    if (protocol === "http2") {
      stats.downstream_cx_http2_total.value++;
      stats.downstream_cx_http2_active.value++;
      socket.once("close", () => stats.downstream_cx_http2_active.value--);
      cm.h2.emit("connection", socket);
    } else {
      stats.downstream_cx_http1_total.value++;
      stats.downstream_cx_http1_active.value++;
      socket.once("close", () => stats.downstream_cx_http1_active.value--);
      cm.h1.emit("connection", socket);
      // node:http reads through the stream: undo the sniffer's pause (node:http2 takes the handle).
      socket.resume();
    }
  };

  const server = net.createServer({ noDelay: true }, (socket: Socket) => {
    socket.on("error", ignoreErrorHandledOnClose);
    if (draining) {
      socket.destroy();
      return;
    }
    if (global !== null && !global.tryAllocate()) {
      listenerStats.downstream_global_cx_overflow.value++;
      socket.destroy();
      return;
    }
    if (connectionLimit !== null && sockets.size >= connectionLimit) {
      global?.release();
      listenerStats.downstream_cx_overflow.value++;
      socket.destroy();
      return;
    }
    sockets.add(socket);
    stats.downstream_cx_total.value++;
    stats.downstream_cx_active.value++;
    listenerStats.downstream_cx_total.value++;
    listenerStats.downstream_cx_active.value++;
    socket.once("close", () => {
      global?.release();
      sockets.delete(socket);
      stats.downstream_cx_active.value--;
      stats.downstream_cx_destroy.value++;
      listenerStats.downstream_cx_active.value--;
      listenerStats.downstream_cx_destroy.value++;
      if (drained !== null && sockets.size === 0) drained();
    });
    cm.watchClose(socket);
    switch (hcm.codecType) {
      case "http1":
        dispatch(socket, "http1");
        return;
      case "http2":
        dispatch(socket, "http2");
        return;
      case "auto":
        sniff(socket, sniffTimeout, (protocol, peeked) => {
          socket.unshift(peeked);
          dispatch(socket, protocol);
        });
    }
  });
  server.on("error", ignoreAcceptError);

  const stopAccepting = (): void => {
    draining = true;
    if (server.listening) server.close();
  };

  return {
    name: config.name,
    server,
    stats,
    listen: () =>
      new Promise<AddressInfo>((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        server.once("error", onError);
        server.listen({ host: config.address.address, port: config.address.port }, () => {
          server.removeListener("error", onError);
          resolve(server.address() as AddressInfo);
        });
      }),
    drain: () => {
      stopAccepting();
      cm.drain();
      if (sockets.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        drained = resolve;
      });
    },
    close: async () => {
      stopAccepting();
      cm.close();
      for (const s of sockets) s.destroy();
      if (drained !== null) drained();
    },
  };
}
