/**
 * Config reload without dropping a request: SIGHUP and `--watch` (the bootstrap file) reload
 * everything; file-based LDS/CDS (`dynamic_resources` with `path_config_source`) reload their file
 * when one is moved into place, as Envoy does. A new config is loaded and validated as at start
 * (the same error lines as `--mode validate`); an invalid one is logged, counted and refused, and
 * the old one keeps serving. A valid one is applied by `ProxyServer.applyConfig` (./server.ts).
 *
 * Stats: `listener_manager.lds.*` and `cluster_manager.cds.*` (Envoy's subscription stats: a file
 * that cannot be parsed is `update_failure`, one that fails validation `update_rejected`). SIGHUP
 * and --watch, which Envoy does not have, move the same `cluster_manager.cluster_*` and
 * `listener_manager.listener_*` counters and log the outcome (docs/ENVOY-DIFFERENCES.md, "Reload").
 */
import { type FSWatcher, stat, watch } from "node:fs";
import { basename, dirname } from "node:path";
import { DiscoveryFileError } from "../config/dynamic_resources.js";
import { ProxyConfigError } from "../config/errors.js";
import type { Bootstrap, PathConfigSource } from "../config/model.js";
import type { StatsStore } from "../stats/store.js";
import {
  composeWithResources,
  type LoadedDiscovery,
  loadStatic,
  readDiscovery,
  type StaticConfig,
} from "./config_source.js";
import type { Logger } from "./log.js";
import type { ProxyOptions } from "./options.js";
import type { ProxyServer, ReloadSummary } from "./server.js";
import { createSubscriptionStats, type SubscriptionStats, versionHash } from "./stats.js";

export type ReloadTrigger = "SIGHUP" | "--watch" | "lds" | "cds";

/**
 * Events closer than this are one change: in a watched directory, a temporary file created then
 * renamed over the target; an editor's writes with `--watch`. A move onto a watched file's own name
 * is one event, acted on at once (SETTLE_MS_FILE, the same tick's events together).
 */
const SETTLE_MS = 50;
const SETTLE_MS_FILE = 1;

/**
 * The config as last applied, in its parts (the bootstrap, the LDS and CDS files), so an LDS update
 * is composed with the last good CDS file and the reverse, as Envoy keeps each subscription's last
 * accepted resources.
 */
export class ConfigState {
  constructor(
    readonly base: StaticConfig,
    readonly lds: LoadedDiscovery | null,
    readonly cds: LoadedDiscovery | null,
    readonly bootstrap: Bootstrap,
  ) {}

  /** Everything from the files. */
  static async load(options: Pick<ProxyOptions, "configPath" | "configYaml">): Promise<ConfigState> {
    const base = await loadStatic(options.configPath, options.configYaml);
    return ConfigState.withFiles(base, null, null);
  }

  /** `base` with the LDS/CDS files it names: read again unless given. */
  static async withFiles(
    base: StaticConfig,
    lds: LoadedDiscovery | null,
    cds: LoadedDiscovery | null,
    checkRoutes = true,
  ): Promise<ConfigState> {
    const dynamic = base.bootstrap.dynamicResources;
    if (dynamic === undefined || (dynamic.lds === null && dynamic.cds === null))
      return new ConfigState(base, null, null, base.bootstrap);
    const l = dynamic.lds === null ? null : (lds ?? (await readDiscovery(dynamic.lds.path, "listener")));
    const c = dynamic.cds === null ? null : (cds ?? (await readDiscovery(dynamic.cds.path, "cluster")));
    return new ConfigState(base, l, c, composeWithResources(base, l, c, checkRoutes));
  }
}

/**
 * Applies a loaded and validated config; resolves with a line for the log, rejects when it could
 * not be applied (the reload counts as rejected).
 */
export type ApplyConfig = (next: Bootstrap, trigger: ReloadTrigger) => Promise<string>;

/** `ProxyServer.applyConfig` as an ApplyConfig (the single process and each worker). */
export function applyTo(server: ProxyServer, drainMs: number): ApplyConfig {
  return async (next) => describeSummary(await server.applyConfig(next, drainMs));
}

/** `clusters +1 ~0 -1, listeners +0 ~1 -0` (added, modified, removed). */
export function describeSummary({ clusters: c, listeners: l }: ReloadSummary): string {
  return `clusters +${c.added.length} ~${c.modified.length} -${c.removed.length}, listeners +${l.added.length} ~${l.modified.length} -${l.removed.length}`;
}

/**
 * Reloads: loads the next config on a trigger, validates it, applies it through `apply`, one at a
 * time. The single process applies to its server; the primary of `--concurrency N` validates,
 * follows DNS and tells its workers (./workers.ts), whose own Reloaders apply without counting
 * (`stats: null`): the LDS/CDS stats are counted once, where the files are watched.
 */
export class Reloader {
  private readonly watchers: FSWatcher[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly lds: SubscriptionStats | null;
  private readonly cds: SubscriptionStats | null;
  /** Reloads run one at a time, in order. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private state: ConfigState,
    private readonly options: ProxyOptions,
    private readonly logger: Logger,
    private readonly apply: ApplyConfig,
    stats: StatsStore | null,
  ) {
    const dynamic = state.bootstrap.dynamicResources;
    this.lds = stats !== null && dynamic?.lds != null ? createSubscriptionStats(stats, "lds") : null;
    this.cds = stats !== null && dynamic?.cds != null ? createSubscriptionStats(stats, "cds") : null;
    // The files read at start count as the first update (Envoy's update_attempt/update_success 1).
    for (const [stats, file] of [
      [this.lds, state.lds],
      [this.cds, state.cds],
    ] as const) {
      if (stats === null || file === null) continue;
      stats.update_attempt.value++;
      stats.update_success.value++;
      stats.version.set(versionHash(file.file.versionInfo));
    }
  }

  /** The config last applied. */
  get bootstrap(): Bootstrap {
    return this.state.bootstrap;
  }

  /** Start watching: the LDS/CDS files always, the bootstrap file with `--watch`. */
  watch(): void {
    const dynamic = this.state.bootstrap.dynamicResources;
    if (dynamic?.lds) this.watchSource(dynamic.lds, "lds");
    if (dynamic?.cds) this.watchSource(dynamic.cds, "cds");
    const path = this.options.configPath;
    if (this.options.watch && path !== null) {
      const name = basename(path);
      this.watchDir(dirname(path), path, (file) => file === name, "--watch");
    }
  }

  /** Reload now (serialized after any reload in progress); resolves true when it applied. */
  reload(trigger: ReloadTrigger): Promise<boolean> {
    const run = this.queue.then(() => this.run(trigger));
    this.queue = run;
    return run;
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private async run(trigger: ReloadTrigger): Promise<boolean> {
    if (this.closed) return false;
    const stats = trigger === "lds" ? this.lds : trigger === "cds" ? this.cds : null;
    if (stats !== null) stats.update_attempt.value++;
    let next: ConfigState;
    try {
      next = await this.loadFor(trigger);
    } catch (err) {
      const failure = err instanceof DiscoveryFileError;
      if (stats !== null) (failure ? stats.update_failure : stats.update_rejected).value++;
      const lines = err instanceof ProxyConfigError ? err.errors : [(err as Error).message];
      this.logger.warn(
        "config",
        `${trigger}: new config ${failure ? "could not be read" : "rejected"} (${lines.length} error${lines.length === 1 ? "" : "s"}); the old one keeps serving`,
      );
      for (const line of lines) this.logger.warn("config", `  ${line}`);
      return false;
    }
    for (const w of next.bootstrap.warnings ?? []) this.logger.warn("config", w);
    try {
      const summary = await this.apply(next.bootstrap, trigger);
      this.state = next;
      if (stats !== null) stats.update_success.value++;
      if (next.lds !== null) this.lds?.version.set(versionHash(next.lds.file.versionInfo));
      if (next.cds !== null) this.cds?.version.set(versionHash(next.cds.file.versionInfo));
      this.logger.info("config", `${trigger}: config applied: ${summary}`);
      return true;
    } catch (err) {
      if (stats !== null) stats.update_rejected.value++;
      const lines = err instanceof ProxyConfigError ? err.errors : [(err as Error).message];
      this.logger.warn("config", `${trigger}: new config could not be applied: ${lines.join("; ")}`);
      return false;
    }
  }

  /** The next config: everything again (SIGHUP, --watch), or one file with the last good other. */
  private async loadFor(trigger: ReloadTrigger): Promise<ConfigState> {
    const s = this.state;
    if (trigger === "lds" || trigger === "cds") {
      const dynamic = s.bootstrap.dynamicResources;
      const source = trigger === "lds" ? dynamic?.lds : dynamic?.cds;
      if (!source) return s;
      const file = await readDiscovery(source.path, trigger === "lds" ? "listener" : "cluster");
      return ConfigState.withFiles(
        s.base,
        trigger === "lds" ? file : s.lds,
        trigger === "cds" ? file : s.cds,
        trigger === "lds",
      );
    }
    return ConfigState.load(this.options);
  }

  /**
   * Envoy's file subscription reacts to a file moved into place (inotify IN_MOVED_TO): the `path`'s
   * own name in its directory, or anything moved into `watched_directory`. A write in place does
   * not reload (as in Envoy); Node reports moves as `rename` (creations and removals too: a name
   * that is gone is skipped, and events within SETTLE_MS are one reload).
   */
  private watchSource(source: PathConfigSource, trigger: "lds" | "cds"): void {
    if (source.watchedDirectory !== null) {
      this.watchDir(source.watchedDirectory, source.path, () => true, trigger, true, SETTLE_MS);
    } else {
      const name = basename(source.path);
      this.watchDir(
        dirname(source.path),
        source.path,
        (file) => file === name,
        trigger,
        true,
        SETTLE_MS_FILE,
      );
    }
  }

  /**
   * Watch `dir`; an event for a name `match` accepts reloads (`trigger`) once `settleMs` passed
   * without another, if the file to read, `target`, is there.
   */
  private watchDir(
    dir: string,
    target: string,
    match: (file: string) => boolean,
    trigger: ReloadTrigger,
    movesOnly = false,
    settleMs = SETTLE_MS,
  ): void {
    let timer: NodeJS.Timeout | null = null;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: false }, (event, file) => {
        if (movesOnly && event !== "rename") return;
        if (file === null || !match(file)) return;
        if (timer !== null) return;
        timer = setTimeout(() => {
          if (timer !== null) this.timers.delete(timer);
          timer = null;
          // A rename away from the target (it is gone now) is no new config.
          stat(target, (err) => {
            if (err === null) void this.reload(trigger);
          });
        }, settleMs);
        this.timers.add(timer);
      });
    } catch (err) {
      this.logger.error("config", `${trigger}: cannot watch ${dir}: ${(err as Error).message}`);
      return;
    }
    watcher.on("error", (err) => this.logger.error("config", `${trigger}: watching ${dir}: ${err.message}`));
    this.watchers.push(watcher);
  }
}
