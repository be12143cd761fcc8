/**
 * One proxy instance: stats, clusters, HTTP listeners, access logs and (optionally) the admin
 * listener, built from a Bootstrap. The constructor builds everything without binding a socket, so
 * `--mode validate` is "construct, then throw it away"; `start()` resolves DNS and binds.
 *
 * Lifecycle: start() -> [drain(ms)] -> stop(). drain stops accepting, lets open connections finish
 * (HTTP/1.1 gets `connection: close`, HTTP/2 a GOAWAY, as the listener implements) for at most `ms`,
 * then stops. Every method is safe to call twice.
 */
import type { AddressInfo } from "node:net";
import { type AccessLogger, AccessLogManager, compileFormat, FormatError } from "../access_log/index.js";
import type { ServerState } from "../admin/render.js";
import { AdminServer, type AdminSource, type ServerInfoOptions } from "../admin/server.js";
import { type ClusterStatus, clusterStatuses, type ListenerStatus } from "../admin/status.js";
import { ProxyConfigError } from "../config/errors.js";
import type { Bootstrap, ConfigVersion, ListenerConfig } from "../config/model.js";
import { StatsStore } from "../stats/store.js";
import type { ClusterManager } from "../upstream/cluster.js";
import {
  createClusterManager,
  type DnsFeed,
  type PoolFactory,
  type Resolver,
} from "../upstream/cluster_manager.js";
import type { Logger } from "./log.js";
import { createServerStats, type ServerStats } from "./stats.js";

/** What the server needs from an HTTP listener (proxy/listener/). */
export interface ProxyListener {
  readonly name: string;
  listen(): Promise<AddressInfo>;
  /** Stop accepting; ask open connections to finish; resolves when they are all closed. */
  drain(): Promise<void>;
  /** Destroy every connection now. */
  close(): Promise<void>;
}

export interface ListenerDeps {
  stats: StatsStore;
  clusterManager: ClusterManager;
  accessLogs: AccessLogManager;
  logger: Logger;
  /** The server's `random` (weighted clusters, retry back-off), when one was given. */
  random?: () => number;
  /** The config file's dialect (`bootstrap.version`). */
  dialect: ConfigVersion;
}

export type ListenerFactory = (config: ListenerConfig, deps: ListenerDeps) => ProxyListener;

export interface ServerDeps {
  logger: Logger;
  createListener: ListenerFactory;
  createPool: PoolFactory;
  resolver?: Resolver;
  /** A worker of `--concurrency N`: DNS clusters follow the primary's lookups (no resolver used). */
  dnsFeed?: DnsFeed;
  /** Uniform in [0, 1) for the clusters and the listeners (default Math.random). */
  random?: () => number;
  /** Access log flush interval, ms (default 1000). */
  fileFlushIntervalMs?: number;
  /** The admin listener; null = none (workers of a multi-process proxy, or no `admin:` block). */
  serverInfo: ServerInfoOptions | null;
  /** Called by POST /quitquitquit. */
  onQuit?: () => void;
}

export class ProxyServer {
  readonly stats = new StatsStore();
  readonly serverStats: ServerStats = createServerStats(this.stats);
  readonly clusterManager: ClusterManager;
  readonly accessLogs: AccessLogManager;
  readonly listeners: ProxyListener[];
  readonly admin: AdminServer | null;
  private readonly bound = new Map<string, AddressInfo>();
  private healthCheckFailed = false;
  private draining = false;
  private stopped: Promise<void> | null = null;
  private readonly logger: Logger;
  private readonly startTimeMs = Date.now();

  constructor(
    readonly bootstrap: Bootstrap,
    private readonly deps: ServerDeps,
  ) {
    this.logger = deps.logger;
    this.accessLogs = new AccessLogManager({
      flushIntervalMs: deps.fileFlushIntervalMs ?? 1000,
      onError: (path, err) =>
        this.logger.error("access_log", `${path}: ${err.message}; logging to it stopped`),
    });
    this.clusterManager = createClusterManager(bootstrap.clusters, {
      stats: this.stats,
      createPool: deps.createPool,
      ...(deps.resolver ? { resolver: deps.resolver } : {}),
      ...(deps.dnsFeed ? { dnsFeed: deps.dnsFeed } : {}),
      ...(deps.random ? { random: deps.random } : {}),
    });
    checkAccessLogFormats(bootstrap);
    const listenerDeps: ListenerDeps = {
      stats: this.stats,
      clusterManager: this.clusterManager,
      accessLogs: this.accessLogs,
      logger: this.logger,
      ...(deps.random ? { random: deps.random } : {}),
      dialect: bootstrap.version,
    };
    this.listeners = bootstrap.listeners.map((l) => deps.createListener(l, listenerDeps));
    this.admin =
      bootstrap.admin !== null && deps.serverInfo !== null
        ? new AdminServer({
            config: bootstrap.admin,
            source: this.adminSource(),
            serverInfo: deps.serverInfo,
            accessLog: this.adminAccessLog(),
          })
        : null;
    this.serverStats.live.set(0);
    this.serverStats.state.set(2); // PRE_INITIALIZING
  }

  state(): ServerState {
    if (this.draining || this.healthCheckFailed) return "DRAINING";
    return this.bound.size === this.listeners.length ? "LIVE" : "INITIALIZING";
  }

  /** The admin's view of this process (also what a worker sends its primary). */
  clusterStatuses(): ClusterStatus[] {
    return clusterStatuses(this.clusterManager);
  }

  listenerStatuses(): ListenerStatus[] {
    return this.bootstrap.listeners.map((l) => {
      const a = this.bound.get(l.name);
      return { name: l.name, address: a?.address ?? l.address.address, port: a?.port ?? l.address.port };
    });
  }

  /** Address a listener is bound to (port 0 in the config -> the real port). */
  listenerAddress(name: string): AddressInfo | undefined {
    return this.bound.get(name);
  }

  /** Resolves DNS clusters, binds every listener, then the admin. Cleans up and rethrows on failure. */
  async start(): Promise<void> {
    this.serverStats.state.set(3); // INITIALIZING
    try {
      await this.clusterManager.initialize();
      for (const l of this.listeners) {
        const a = await l.listen();
        this.bound.set(l.name, a);
        this.logger.info("main", `listener ${l.name} on ${a.address}:${a.port}`);
      }
      if (this.admin !== null) {
        const a = await this.admin.listen();
        this.logger.info("admin", `admin address: ${a.address}:${a.port}`);
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.serverStats.live.set(1);
    this.serverStats.state.set(0); // LIVE
  }

  /**
   * Graceful shutdown: listeners stop accepting and drain for at most `ms`, then everything closes.
   * The admin stays up meanwhile (answering `/ready` with 503 DRAINING).
   */
  async drain(ms: number): Promise<void> {
    if (this.stopped !== null) return this.stopped;
    this.draining = true;
    this.serverStats.state.set(1); // DRAINING
    this.serverStats.live.set(0);
    this.logger.info("main", `draining listeners for at most ${ms} ms`);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), ms);
    });
    const drained = Promise.allSettled(this.listeners.map((l) => l.drain())).then(() => "drained" as const);
    const outcome = await Promise.race([drained, deadline]);
    clearTimeout(timer);
    if (outcome === "timeout") this.logger.info("main", "drain time over; closing remaining connections");
    return this.stop();
  }

  /** Closes everything now. */
  stop(): Promise<void> {
    if (this.stopped === null) {
      this.draining = true;
      this.stopped = (async () => {
        await Promise.allSettled(this.listeners.map((l) => l.close()));
        await Promise.allSettled([this.clusterManager.close(), this.admin?.close()]);
        await this.accessLogs.closeAll();
        this.logger.info("main", "exiting");
      })();
    }
    return this.stopped;
  }

  private adminSource(): AdminSource {
    return {
      bootstrap: this.bootstrap,
      stats: () => this.snapshot(),
      clusters: () => this.clusterStatuses(),
      listeners: () => this.listenerStatuses(),
      state: () => this.state(),
      healthCheckFail: () => {
        this.healthCheckFailed = true;
      },
      healthCheckOk: () => {
        this.healthCheckFailed = false;
      },
      quit: () => (this.deps.onQuit ?? (() => void this.stop()))(),
    };
  }

  /** The stats snapshot with `server.uptime` brought up to date. */
  snapshot() {
    this.serverStats.uptime.set(Math.floor((Date.now() - this.startTimeMs) / 1000));
    return this.stats.snapshot();
  }

  private adminAccessLog(): AccessLogger | null {
    const path = this.bootstrap.admin?.accessLogPath ?? null;
    if (path === null || path === "/dev/null") return null;
    const format = compileFormat(null);
    const sink = this.accessLogs.open(path);
    return { log: (e) => sink.write(format(e)) };
  }
}

/** Compiles every access log format once so a bad one fails here, naming where it is. */
function checkAccessLogFormats(bootstrap: Bootstrap): void {
  const errors: string[] = [];
  for (const l of bootstrap.listeners) {
    l.hcm.accessLogs.forEach((log, i) => {
      try {
        compileFormat(log.format);
      } catch (err) {
        if (!(err instanceof FormatError)) throw err;
        errors.push(`listener ${l.name}: http_connection_manager.access_log[${i}]: ${err.message}`);
      }
    });
  }
  if (errors.length > 0) throw new ProxyConfigError(errors);
}
