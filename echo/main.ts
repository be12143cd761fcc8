#!/usr/bin/env node
/**
 * echomesh-echo: the echo service CLI. `echomesh-echo [echo] [--port N] ...`; see echo/README.md.
 * SIGTERM/SIGINT drain gracefully (bounded by --drain-timeout); a second signal exits at once.
 */
import { configFromCli, EchoConfigError } from "./config.js";
import { flushLogger } from "./log.js";
import { startEcho } from "./server.js";

async function main(): Promise<void> {
  let cli: ReturnType<typeof configFromCli>;
  try {
    cli = configFromCli(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof EchoConfigError)) throw err;
    process.stderr.write(`echomesh-echo: ${err.message}\nTry --help.\n`);
    process.exit(2);
  }
  if (cli.kind === "help") {
    process.stdout.write(cli.text);
    return;
  }
  const { config } = cli;
  const server = await startEcho(config);
  const { logger } = server.context;
  logger.info(
    { url: server.url, accessLog: config.accessLog, drainTimeoutMs: config.drainTimeoutMs },
    "echo service listening",
  );

  // A bug must not take the service down in the middle of someone's test run: count, log, carry on.
  const { metrics } = server.context;
  process.on("uncaughtException", (err) => {
    metrics.unexpectedErrors.inc();
    logger.error({ err }, "uncaught exception");
  });
  process.on("unhandledRejection", (err) => {
    metrics.unexpectedErrors.inc();
    logger.error({ err }, "unhandled rejection");
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      flushLogger(logger);
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, drainTimeoutMs: config.drainTimeoutMs }, "draining");
    server.close().then(() => {
      logger.info("stopped");
      flushLogger(logger);
      process.exit(0);
    });
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`echomesh-echo: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
