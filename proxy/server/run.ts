/**
 * What `echomesh-proxy` does once its flags are parsed: validate a config, or serve it in this
 * process (`--concurrency 1`, the default) or in N worker processes (./workers.ts).
 *
 * Exit codes (lib/cli.ts EXIT): 0 = valid config / clean shutdown (signal or POST /quitquitquit);
 * 1 = bad config, cannot bind, or a worker could not start. Usage errors (2) are main.ts's.
 *
 * `startProxy` is the same proxy for a program or a test (the package's API, index.ts).
 */
import cluster from "node:cluster";
import { loadBootstrap } from "./config_source.js";
import { defaultFactories } from "./factories.js";
import { installProcessGuards } from "./guards.js";
import { createLogger, DEFAULT_LOG_FORMAT, type Logger, type LogLevel, silentLogger } from "./log.js";
import type { ProxyOptions } from "./options.js";
import { applyTo, Reloader } from "./reload.js";
import type { ProxyServer } from "./server.js";
import { waitForSignal } from "./signals.js";
import {
  buildServer,
  describeConfigError,
  describeError,
  type Factories,
  loadOrReport,
  loadStateOrReport,
  serverInfoFor,
} from "./startup.js";
import { VERSION_STRING } from "./version.js";
import { runPrimary, runWorker } from "./workers.js";

export type { Factories } from "./startup.js";

/** Runs until the proxy should exit; resolves with the exit code. */
export async function runProxy(options: ProxyOptions, factories: Factories): Promise<number> {
  const logger = createLogger(options.logLevel, options.logPath, options.logFormat);
  // Said once, by the process the user started (not by each worker).
  if (!cluster.isWorker) for (const w of ignoredFlagWarnings(options)) logger.warn("main", w);
  try {
    if (options.mode === "validate") return await validate(options, factories, logger);
    installProcessGuards(logger);
    if (cluster.isWorker) return await runWorker(options, factories, logger);
    if (options.concurrency > 1) return await runPrimary(options, logger);
    return await serveSingle(options, factories, logger);
  } finally {
    await logger.close();
  }
}

/**
 * One line per Envoy flag given that this proxy accepts and does not apply (hot restart, placement),
 * so a command line that relies on one is not silently half-honoured.
 */
export function ignoredFlagWarnings(options: ProxyOptions): string[] {
  return Object.keys(options.ignored).map(
    (flag) => `--${flag} is accepted for Envoy's command line and ignored: there is no hot restart here`,
  );
}

/** Builds (without binding) every part of the proxy from the config; any error -> exit 1. */
async function validate(options: ProxyOptions, factories: Factories, logger: Logger): Promise<number> {
  const bootstrap = await loadOrReport(options, logger);
  if (bootstrap === null) return 1;
  let server: ProxyServer;
  try {
    server = buildServer(bootstrap, options, factories, silentLogger, { serverInfo: null });
  } catch (err) {
    process.stderr.write(`${describeConfigError(err)}\n`);
    return 1;
  }
  await server.stop();
  process.stdout.write(`configuration '${options.configPath ?? "--config-yaml"}' OK\n`);
  return 0;
}

/**
 * Resolves with the exit code after SIGTERM/SIGINT (drain for --drain-time-s, then 0), POST
 * /quitquitquit (0) or a failed start (1). A second signal while draining stops at once. SIGHUP
 * (and `--watch`, and the LDS/CDS files) reload the config (./reload.ts).
 */
async function serveSingle(options: ProxyOptions, factories: Factories, logger: Logger): Promise<number> {
  const startTimeMs = Date.now();
  const state = await loadStateOrReport(options, logger);
  if (state === null) return 1;
  const bootstrap = state.bootstrap;
  logger.info("main", `starting ${VERSION_STRING} (pid ${process.pid})`);
  let quit: () => void = () => {};
  const quitRequested = new Promise<void>((resolve) => {
    quit = resolve;
  });
  let server: ProxyServer;
  try {
    server = buildServer(bootstrap, options, factories, logger, {
      serverInfo: serverInfoFor(options, bootstrap, startTimeMs),
      onQuit: () => quit(),
    });
  } catch (err) {
    process.stderr.write(`${describeConfigError(err)}\n`);
    return 1;
  }
  try {
    await server.start();
  } catch (err) {
    process.stderr.write(`${describeError(err)}\n`);
    return 1;
  }
  server.serverStats.concurrency.set(1);
  const reloader = new Reloader(
    state,
    options,
    logger,
    applyTo(server, options.drainTimeS * 1000),
    server.stats,
  );
  reloader.watch();
  const onHangup = () => {
    logger.info("main", "caught SIGHUP: reloading the config");
    void reloader.reload("SIGHUP");
  };
  process.on("SIGHUP", onHangup);
  logger.info("main", "all listeners started; serving");

  const signal = await Promise.race([waitForSignal(), quitRequested.then(() => "quitquitquit")]);
  process.off("SIGHUP", onHangup);
  reloader.close();
  logger.info("main", `caught ${signal}`);
  if (signal === "quitquitquit") {
    await server.stop();
    return 0;
  }
  const again = waitForSignal().then((s) => {
    logger.info("main", `caught ${s} again: stopping now`);
    return server.stop();
  });
  await Promise.race([server.drain(options.drainTimeS * 1000), again]);
  return 0;
}

/** What `startProxy` takes: a config (a file, text or an object) and the few flags a program needs. */
export interface StartProxyOptions {
  /** An Envoy bootstrap file (YAML or JSON, v2 `config:` or v3 `typed_config`), as `-c`. */
  configPath?: string;
  /** The bootstrap as YAML or JSON text, or as an object; merged over `configPath` when both. */
  config?: string | Record<string, unknown>;
  /** The server log's level (default "off": quiet in tests); the log goes to stderr. */
  logLevel?: LogLevel;
  /** The server log as JSON lines instead of Envoy's line (as `--log-json`). */
  logJson?: boolean;
  /** Resolve these names to these addresses for DNS clusters (as `--dns-map`). */
  dnsMap?: Record<string, string | string[]>;
  /** The node's cluster, shown by the admin's `/server_info` (as `--service-cluster`). */
  serviceCluster?: string;
}

/** A listener of a running proxy, as bound (a port 0 in the config is the real port here). */
export interface BoundListener {
  name: string;
  address: string;
  port: number;
  /** `http://address:port` (IPv6 in brackets). */
  url: string;
}

/** A proxy started by `startProxy`. */
export interface RunningProxy {
  /** Every listener, in config order. */
  readonly listeners: BoundListener[];
  /** The first listener's URL. */
  readonly url: string;
  /** The admin listener's URL (`/stats`, `/ready`, `/clusters`...), or null when the config has none. */
  readonly adminUrl: string | null;
  /** Closes every listener and connection (no drain); resolves when all is closed. Idempotent. */
  close(): Promise<void>;
}

const urlOf = (address: string, port: number) =>
  `http://${address.includes(":") ? `[${address}]` : address}:${port}`;

/**
 * Starts the proxy in this process, as `echomesh-proxy -c FILE` would (one worker, no signals, no
 * reload), and resolves once every listener and the admin are bound. Rejects with a
 * `ProxyConfigError` listing every problem of an invalid config, or with the bind error.
 */
export async function startProxy(opts: StartProxyOptions): Promise<RunningProxy> {
  const options: ProxyOptions = {
    configPath: opts.configPath ?? null,
    configYaml:
      opts.config === undefined || typeof opts.config === "string"
        ? (opts.config ?? null)
        : JSON.stringify(opts.config),
    mode: "serve",
    serviceCluster: opts.serviceCluster ?? null,
    serviceNode: null,
    serviceZone: null,
    concurrency: 1,
    logLevel: opts.logLevel ?? "off",
    logFormat: opts.logJson === true ? { json: true } : { json: false, pattern: DEFAULT_LOG_FORMAT },
    logPath: null,
    drainTimeS: 0,
    fileFlushIntervalMs: 1000,
    dnsMap: new Map(
      Object.entries(opts.dnsMap ?? {}).map(([name, ips]) => [name.toLowerCase(), [ips].flat()]),
    ),
    watch: false,
    ignored: {},
  };
  const logger = createLogger(options.logLevel, null, options.logFormat);
  const bootstrap = await loadBootstrap(options.configPath, options.configYaml);
  for (const w of bootstrap.warnings ?? []) logger.warn("config", w);
  const server = buildServer(bootstrap, options, defaultFactories(), logger, {
    serverInfo: serverInfoFor(options, bootstrap, Date.now()),
  });
  await server.start();
  const listeners = server
    .listenerStatuses()
    .map((l) => ({ name: l.name, address: l.address, port: l.port, url: urlOf(l.address, l.port) }));
  const admin = server.admin?.address() ?? null;
  return {
    listeners,
    url: listeners[0]?.url ?? "",
    adminUrl: admin === null ? null : urlOf(admin.address, admin.port),
    close: () => server.stop(),
  };
}
