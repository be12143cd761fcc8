/**
 * Startup steps shared by the single-process proxy, the workers and their primary: load the config
 * (printing every error), build the proxy of one process, describe a failure in one line, and the
 * `/server_info` contents.
 */

import type { ServerInfoOptions } from "../admin/server.js";
import { ProxyConfigError } from "../config/errors.js";
import type { Bootstrap } from "../config/model.js";
import type { PoolFactory } from "../upstream/cluster_manager.js";
import { systemResolver } from "../upstream/resolver.js";
import { loadBootstrap } from "./config_source.js";
import { mappedResolver } from "./dns_map.js";
import { countBugsIn } from "./guards.js";
import type { Logger } from "./log.js";
import type { ProxyOptions } from "./options.js";
import { ConfigState } from "./reload.js";
import { type ListenerFactory, ProxyServer, type ServerDeps } from "./server.js";
import { VERSION_STRING } from "./version.js";

/** The real listener and pool builders (./factories.ts), or fakes in tests. */
export interface Factories {
  createListener: ListenerFactory;
  createPool: PoolFactory;
}

/**
 * The proxy of one process, built (not started) from a loaded config: the factories, the logger, the
 * `--dns-map` resolver and the flush interval from the flags; `admin` says whether this process runs
 * the admin listener (`serverInfo: null` = no) and what POST /quitquitquit does, and for a worker
 * the feed of the primary's DNS lookups.
 */
export function buildServer(
  bootstrap: Bootstrap,
  options: ProxyOptions,
  factories: Factories,
  logger: Logger,
  admin: Pick<ServerDeps, "serverInfo" | "onQuit" | "dnsFeed" | "countConfigChanges">,
): ProxyServer {
  const server = new ProxyServer(bootstrap, {
    logger,
    createListener: factories.createListener,
    createPool: factories.createPool,
    resolver: mappedResolver(options.dnsMap, systemResolver),
    fileFlushIntervalMs: options.fileFlushIntervalMs,
    drainTimeMs: options.drainTimeS * 1000,
    ...admin,
  });
  countBugsIn(server.serverStats.envoy_bug_failures);
  return server;
}

/** `loadOrReport` keeping the parts a reload starts from (./reload.ts). */
export async function loadStateOrReport(options: ProxyOptions, logger: Logger): Promise<ConfigState | null> {
  try {
    const state = await ConfigState.load(options);
    for (const w of state.bootstrap.warnings ?? []) logger.warn("config", w);
    return state;
  } catch (err) {
    process.stderr.write(`${describeError(err)}\n`);
    return null;
  }
}

/** Loads the bootstrap and prints every config error to stderr; null when it is invalid. */
export async function loadOrReport(options: ProxyOptions, logger: Logger): Promise<Bootstrap | null> {
  try {
    const bootstrap = await loadBootstrap(options.configPath, options.configYaml);
    for (const w of bootstrap.warnings ?? []) logger.warn("config", w);
    return bootstrap;
  } catch (err) {
    process.stderr.write(`${describeError(err)}\n`);
    return null;
  }
}

export function describeError(err: unknown): string {
  if (err instanceof ProxyConfigError) return err.message;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") {
      const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
      return `cannot bind ${e.address ?? ""}:${e.port ?? ""}: ${code} (${err.message})`;
    }
    return err.message;
  }
  return String(err);
}

export function serverInfoFor(
  options: ProxyOptions,
  bootstrap: Bootstrap,
  startTimeMs: number,
): ServerInfoOptions {
  const node = {
    id: options.serviceNode ?? bootstrap.node?.id ?? "",
    cluster: options.serviceCluster ?? bootstrap.node?.cluster ?? "",
  };
  return {
    version: VERSION_STRING,
    startTimeMs,
    node,
    commandLineOptions: {
      base_id: String(options.ignored["base-id"] ?? "0"),
      concurrency: options.concurrency,
      config_path: options.configPath ?? "",
      config_yaml: options.configYaml ?? "",
      log_level: options.logLevel,
      log_path: options.logPath ?? "",
      service_cluster: node.cluster,
      service_node: node.id,
      service_zone: options.serviceZone ?? "",
      mode: options.mode === "serve" ? "Serve" : "Validate",
      disable_hot_restart: true,
      restart_epoch: Number(options.ignored["restart-epoch"] ?? 0),
      file_flush_interval: `${options.fileFlushIntervalMs / 1000}s`,
      drain_time: `${options.drainTimeS}s`,
      dns_map: Object.fromEntries(options.dnsMap),
    },
  };
}

/** A failure while building the proxy from a loaded config (e.g. a bad access log format). */
export function describeConfigError(err: unknown): string {
  return err instanceof ProxyConfigError ? err.message : `invalid config: ${describeError(err)}`;
}
