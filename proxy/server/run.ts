/**
 * What `echomesh-proxy` does once its flags are parsed: validate a config, or serve it in this
 * process (`--concurrency 1`, the default) or in N worker processes (./workers.ts).
 *
 * Exit codes: 0 = valid config / clean shutdown (signal or POST /quitquitquit); 1 = bad config,
 * cannot bind, or a worker could not start.
 */
import cluster from "node:cluster";
import { installProcessGuards } from "./guards.js";
import { createLogger, type Logger, silentLogger } from "./log.js";
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
  const logger = createLogger(options.logLevel, options.logPath);
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
 * One line per Envoy flag given that this proxy accepts and does not apply, so a command line that
 * relies on one (e.g. `--log-format`) is not silently half-honoured.
 */
export function ignoredFlagWarnings(options: ProxyOptions): string[] {
  return Object.keys(options.ignored).map((flag) =>
    flag === "log-format"
      ? "--log-format is accepted for Envoy's command line and ignored: the log has one format here"
      : `--${flag} is accepted for Envoy's command line and ignored: there is no hot restart here`,
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
