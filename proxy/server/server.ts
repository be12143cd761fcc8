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
import type { ConnectionHandler } from "../api/connection_handler.js";
import { ProxyConfigError } from "../config/errors.js";
import type { Bootstrap, ConfigVersion, DownstreamTlsContext, ListenerConfig } from "../config/model.js";
import { StatsStore } from "../stats/store.js";
import {
  ClusterManagerImpl,
  type ClusterUpdate,
  type DnsFeed,
  type PoolFactory,
  type Resolver,
} from "../upstream/cluster_manager.js";
import { createClusterManagerStats } from "../upstream/cluster_stats.js";
import type { Logger } from "./log.js";
import {
  createListenerManagerStats,
  createServerStats,
  type ListenerManagerStats,
  type ServerStats,
} from "./stats.js";

/** What the server needs from an HTTP listener (proxy/listener/). */
export interface ProxyListener {
  readonly name: string;
  listen(): Promise<AddressInfo>;
  /** Stop accepting; ask open connections to finish; resolves when they are all closed. */
  drain(): Promise<void>;
  /** Destroy every connection now. */
  close(): Promise<void>;
  /** The filter chain (proxy/listener/ has it; fakes in tests may not). */
  readonly handler?: ConnectionHandler;
  /** A reload changed the chain, not the address: see proxy/listener/listener.ts. */
  replaceHandler?(next: ConnectionHandler, drainMs: number, tls?: DownstreamTlsContext): void;
  /** `/healthcheck/fail` and `/healthcheck/ok` (Envoy's drain manager `drainClose()`). */
  drainClose?(on: boolean): void;
  /** Stop accepting, open connections carry on (`/drain_listeners`). */
  stopListening?(): void;
}

/** What a reload changed, by name (logged, and what a worker reports). */
export interface ReloadSummary {
  clusters: ClusterUpdate;
  /** `inPlace`: the modified ones that kept their socket. */
  listeners: { added: string[]; modified: string[]; removed: string[]; inPlace: string[] };
}

/** A start, as Envoy counts it: every cluster and listener added. */
export function startSummary(b: Bootstrap): ReloadSummary {
  return {
    clusters: { added: b.clusters.map((c) => c.name), modified: [], removed: [] },
    listeners: { added: b.listeners.map((l) => l.name), modified: [], removed: [], inPlace: [] },
  };
}

/**
 * `cluster_manager.cluster_added/_modified/_removed` and `listener_manager.listener_*`, counted
 * once per proxy (Envoy's main thread): by the single process, or by the primary of N workers.
 */
export function countConfigChanges(store: StatsStore, s: ReloadSummary): void {
  const cm = createClusterManagerStats(store);
  cm.cluster_added.value += s.clusters.added.length;
  cm.cluster_modified.value += s.clusters.modified.length;
  cm.cluster_removed.value += s.clusters.removed.length;
  const lm = createListenerManagerStats(store);
  lm.listener_added.value += s.listeners.added.length;
  lm.listener_modified.value += s.listeners.modified.length;
  lm.listener_removed.value += s.listeners.removed.length;
  lm.listener_in_place_updated.value += s.listeners.inPlace.length;
}

export interface ListenerDeps {
  stats: StatsStore;
  clusterManager: ClusterManagerImpl;
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
  /** `--drain-time-s` in ms: `/drain_listeners?graceful` waits that long (default 0). */
  drainTimeMs?: number;
  /**
   * Count cluster and listener additions and changes (default true). A worker of N does not: its
   * primary counts them once, as Envoy's main thread does.
   */
  countConfigChanges?: boolean;
}

export class ProxyServer {
  readonly stats = new StatsStore();
  readonly serverStats: ServerStats = createServerStats(this.stats);
  readonly listenerManagerStats: ListenerManagerStats = createListenerManagerStats(this.stats);
  readonly clusterManager: ClusterManagerImpl;
  readonly accessLogs: AccessLogManager;
  /** The serving listeners, in config order (a reload changes them). */
  readonly listeners: ProxyListener[];
  /** Listeners a reload removed (or moved to another address) while their connections finish. */
  private readonly drainingListeners = new Set<ProxyListener>();
  private readonly listenerConfigs = new Map<string, ListenerConfig>();
  private readonly listenerDeps: ListenerDeps;
  readonly admin: AdminServer | null;
  private readonly bound = new Map<string, AddressInfo>();
  private healthCheckFailed = false;
  private started = false;
  /** `/drain_listeners`: listeners stopped accepting (the process keeps running). */
  private listenersDrained = false;
  private draining = false;
  private stopped: Promise<void> | null = null;
  private readonly logger: Logger;
  private readonly startTimeMs = Date.now();

  /** The active config (a reload replaces it). */
  get bootstrap(): Bootstrap {
    return this.active;
  }

  constructor(
    private active: Bootstrap,
    private readonly deps: ServerDeps,
  ) {
    const bootstrap = active;
    this.logger = deps.logger;
    this.accessLogs = new AccessLogManager({
      flushIntervalMs: deps.fileFlushIntervalMs ?? 1000,
      onError: (path, err) =>
        this.logger.error("access_log", `${path}: ${err.message}; logging to it stopped`),
    });
    this.clusterManager = new ClusterManagerImpl(bootstrap.clusters, {
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
    this.listenerDeps = listenerDeps;
    this.listeners = bootstrap.listeners.map((l) => deps.createListener(l, listenerDeps));
    for (const l of bootstrap.listeners) this.listenerConfigs.set(l.name, l);
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
    return this.started ? "LIVE" : "INITIALIZING";
  }

  /** The admin's view of this process (also what a worker sends its primary). */
  clusterStatuses(): ClusterStatus[] {
    return clusterStatuses(this.clusterManager, new Set(this.active.dynamic?.apiClusters ?? []));
  }

  listenerStatuses(): ListenerStatus[] {
    return this.active.listeners.map((l) => {
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
    this.started = true;
    if (this.deps.countConfigChanges !== false) countConfigChanges(this.stats, startSummary(this.active));
    this.listenerManagerStats.total_listeners_active.set(this.listeners.length);
    this.serverStats.live.set(1);
    this.serverStats.state.set(0); // LIVE
  }

  /**
   * Swap to a new, already validated config (./reload.ts loads and validates it). Clusters first
   * (new and changed ones initialize before they take traffic; ClusterManagerImpl.update), then
   * listeners: an unchanged one is kept; a changed one on the same address keeps its socket and
   * takes the new filter chain for new connections while the old chain's connections finish; one
   * on another address is bound anew and the old one drains; a removed one drains. Draining is
   * bounded by `drainMs`. A new listener that cannot be bound is logged and counted
   * (`listener_create_failure`, as Envoy) and left out (the one it replaced keeps serving); the rest
   * of the config applies.
   */
  async applyConfig(next: Bootstrap, drainMs: number): Promise<ReloadSummary> {
    if (this.draining) throw new Error("the proxy is shutting down");
    checkAccessLogFormats(next);
    const listenerDeps: ListenerDeps = { ...this.listenerDeps, dialect: next.version };
    // Build every new or changed listener before anything changes (a factory may still throw).
    const byName = new Map(this.listeners.map((l) => [l.name, l]));
    const plans = next.listeners.map((config) => {
      const old = byName.get(config.name);
      const oldConfig = this.listenerConfigs.get(config.name);
      if (old !== undefined && oldConfig !== undefined && sameValue(oldConfig, config))
        return { config, keep: old, fresh: null, old };
      return { config, keep: null, fresh: this.deps.createListener(config, listenerDeps), old };
    });
    const clusters = await this.clusterManager.update(next.clusters, drainMs);
    const summary: ReloadSummary = {
      clusters,
      listeners: { added: [], modified: [], removed: [], inPlace: [] },
    };
    const serving: ProxyListener[] = [];
    /** Listeners that could not be bound: the config of the one still serving in their place. */
    const notBound = new Map<string, ListenerConfig | null>();
    const retire: ProxyListener[] = [];
    for (const plan of plans) {
      const { config, fresh, old } = plan;
      if (plan.keep !== null) {
        serving.push(plan.keep);
        continue;
      }
      if (fresh === null) continue;
      const oldConfig = this.listenerConfigs.get(config.name);
      // The same address: as configured, or the port a configured port 0 was bound to.
      const boundPort = this.bound.get(config.name)?.port;
      const sameAddress =
        oldConfig !== undefined &&
        oldConfig.address.address === config.address.address &&
        (oldConfig.address.port === config.address.port ||
          (oldConfig.address.port === 0 && boundPort === config.address.port));
      if (old !== undefined && sameAddress && old.replaceHandler && fresh.handler) {
        old.replaceHandler(fresh.handler, drainMs, config.tls);
        serving.push(old);
        summary.listeners.modified.push(config.name);
        summary.listeners.inPlace.push(config.name);
        continue;
      }
      if (old !== undefined && sameAddress) {
        // A listener without a swappable chain (a test's fake): free the address first.
        await old.close();
        this.bound.delete(old.name);
      }
      let a: AddressInfo;
      try {
        a = await fresh.listen();
      } catch (err) {
        this.logger.error("main", `listener ${config.name}: cannot bind: ${(err as Error).message}`);
        this.listenerManagerStats.listener_create_failure.value++;
        await fresh.close();
        notBound.set(config.name, old !== undefined && !sameAddress ? (oldConfig ?? null) : null);
        if (old !== undefined && !sameAddress) serving.push(old);
        continue;
      }
      if (old !== undefined && !sameAddress) retire.push(old);
      if (this.healthCheckFailed) fresh.drainClose?.(true);
      this.bound.set(config.name, a);
      serving.push(fresh);
      (old === undefined ? summary.listeners.added : summary.listeners.modified).push(config.name);
      this.logger.info("main", `listener ${config.name} on ${a.address}:${a.port}`);
    }
    const names = new Set(next.listeners.map((l) => l.name));
    for (const l of this.listeners) {
      if (names.has(l.name)) continue;
      retire.push(l);
      summary.listeners.removed.push(l.name);
      this.bound.delete(l.name);
    }
    this.listeners.splice(0, this.listeners.length, ...serving);
    this.listenerConfigs.clear();
    for (const l of next.listeners) this.listenerConfigs.set(l.name, l);
    for (const [name, config] of notBound) {
      if (config === null) this.listenerConfigs.delete(name);
      else this.listenerConfigs.set(name, config);
    }
    this.active = next;
    for (const l of retire) void this.drainListener(l, drainMs);
    if (this.deps.countConfigChanges !== false) countConfigChanges(this.stats, summary);
    this.listenerManagerStats.total_listeners_active.set(this.listeners.length);
    return summary;
  }

  /** A listener leaving: stop accepting, let its connections finish for at most `ms`, close. */
  private async drainListener(l: ProxyListener, ms: number): Promise<void> {
    this.drainingListeners.add(l);
    this.listenerManagerStats.total_listeners_draining.set(this.drainingListeners.size);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      timer.unref();
    });
    await Promise.race([l.drain(), deadline]);
    clearTimeout(timer);
    await l.close();
    this.drainingListeners.delete(l);
    this.listenerManagerStats.total_listeners_draining.set(this.drainingListeners.size);
  }

  /**
   * `POST /drain_listeners`, as Envoy's: every listener stops accepting and its open connections
   * carry on (`listener_manager.listener_stopped`); with `graceful` (`graceMs` > 0: the drain time),
   * the listeners first keep accepting for that long with drainClose on (`connection: close`,
   * GOAWAY; Envoy ramps the share of closed connections up over the drain time, we close all).
   * The process keeps running and `/ready` stays LIVE, as in Envoy.
   */
  async drainListeners(graceMs: number): Promise<void> {
    if (this.listenersDrained) return;
    this.listenersDrained = true;
    if (graceMs > 0) {
      for (const l of this.listeners) l.drainClose?.(true);
      await new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    }
    for (const l of this.listeners) {
      if (l.stopListening) l.stopListening();
      else void l.drain();
      this.listenerManagerStats.listener_stopped.value++;
    }
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
        await Promise.allSettled([...this.listeners, ...this.drainingListeners].map((l) => l.close()));
        await Promise.allSettled([this.clusterManager.close(), this.admin?.close()]);
        await this.accessLogs.closeAll();
        this.logger.info("main", "exiting");
      })();
    }
    return this.stopped;
  }

  /** Envoy: while failed, the drain manager's drainClose() is true on every listener. */
  setHealthCheckFailed(failed: boolean): void {
    this.healthCheckFailed = failed;
    for (const l of this.listeners) l.drainClose?.(failed);
  }

  private adminSource(): AdminSource {
    const server = this;
    return {
      get bootstrap() {
        return server.bootstrap;
      },
      stats: () => this.snapshot(),
      clusters: () => this.clusterStatuses(),
      listeners: () => this.listenerStatuses(),
      state: () => this.state(),
      healthCheckFail: () => this.setHealthCheckFailed(true),
      healthCheckOk: () => this.setHealthCheckFailed(false),
      drainListeners: (graceful: boolean) =>
        void this.drainListeners(graceful ? (this.deps.drainTimeMs ?? 0) : 0),
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

/** Two configs mean the same (Envoy compares the protos' hashes). */
export function sameValue(a: unknown, b: unknown): boolean {
  const text = (v: unknown) =>
    JSON.stringify(v, (_key, value: unknown) => {
      if (value instanceof RegExp) return `/${value.source}/${value.flags}`;
      if (value instanceof Map) return Object.fromEntries(value);
      if (value instanceof Set) return [...value];
      return value;
    });
  return text(a) === text(b);
}
