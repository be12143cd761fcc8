/**
 * The last line of defence: a bug that reaches the top of the stack (an uncaught exception, an
 * unhandled rejection) is logged, counted in `server.envoy_bug_failures` (Envoy's counter for
 * ENVOY_BUG, the same meaning: "this should not happen, serving continues") and the process keeps
 * serving. Tests read the counter and assert it stays 0 (proxy e2e teardown, conformance).
 */
import type { Counter } from "../stats/store.js";
import type { Logger } from "./log.js";

let installed = false;
/** The serving ProxyServer's counter; none before it exists (the primary of `--concurrency N`). */
let bugs: Counter | undefined;

/** Installs the process-wide handlers once per process. */
export function installProcessGuards(logger: Logger): void {
  if (installed) return;
  installed = true;
  process.on("uncaughtException", (err) => reportBug(logger, "uncaught exception", err));
  process.on("unhandledRejection", (reason) => reportBug(logger, "unhandled rejection", reason));
}

/** What a guard does with a bug: count it (once a server counts them), log it, return. */
export function reportBug(logger: Logger, kind: string, reason: unknown): void {
  if (bugs !== undefined) bugs.value++;
  const msg = reason instanceof Error ? (reason.stack ?? reason.message) : String(reason);
  logger.critical("main", `${kind} (serving continues): ${msg}`);
}

/** Counts what the guards catch from now on in `counter` (the serving server's). */
export function countBugsIn(counter: Counter): void {
  bugs = counter;
}
