#!/usr/bin/env node
/**
 * echomesh-echo: the echo service CLI. `echomesh-echo [echo] [--port N] ...`; see echo/README.md.
 * SIGTERM/SIGINT drain gracefully (bounded by --drain-timeout); a second signal exits at once.
 * Exit codes (lib/cli.ts EXIT): 0 stopped, 1 failure (a port taken), 2 bad flag or value.
 */
import { EXIT, versionLine } from "../lib/cli.js";
import { configFromCli, EchoConfigError } from "./config.js";
import { flushLogger } from "./log.js";
import { startEcho } from "./server.js";

const BIN = "echomesh-echo";

async function main(): Promise<void> {
  let cli: ReturnType<typeof configFromCli>;
  try {
    cli = configFromCli(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof EchoConfigError)) throw err;
    process.stderr.write(`${BIN}: ${err.message}. Try --help.\n`);
    process.exit(EXIT.usage);
  }
  if (cli.kind === "help") {
    process.stdout.write(cli.text);
    return;
  }
  if (cli.kind === "version") {
    process.stdout.write(`${versionLine(BIN)}\n`);
    return;
  }
  const { config } = cli;
  const server = await startEcho(config);
  const { logger } = server.context;
  logger.info(
    {
      url: server.url,
      tlsUrl: server.tlsUrl,
      accessLog: config.accessLog,
      drainTimeoutMs: config.drainTimeoutMs,
    },
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
      process.exit(EXIT.failure);
    }
    stopping = true;
    logger.info({ signal, drainTimeoutMs: config.drainTimeoutMs }, "draining");
    server.close().then(() => {
      logger.info("stopped");
      flushLogger(logger);
      process.exit(EXIT.ok);
    });
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${BIN}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(EXIT.failure);
});
