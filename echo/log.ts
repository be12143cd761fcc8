import pino, { type DestinationStream, type Logger } from "pino";
import { ignoreErrorAtExit } from "../lib/errors.js";

/**
 * The echo service's logger: JSON lines on stdout (or `destination`). Lifecycle events are always
 * logged; the per-request access log is a separate switch (see `accessLog` in the config).
 */
export function createLogger(instance: string, destination?: DestinationStream): Logger {
  const dest = destination ?? pino.destination({ dest: 1, sync: false });
  return pino(
    {
      base: { instance },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
}

/** Flush buffered log lines; safe to call at exit. */
export function flushLogger(logger: Logger): void {
  try {
    logger.flush();
  } catch (err) {
    ignoreErrorAtExit(err);
  }
}

/** One access log record. Field names are stable; see echo/README.md. */
export interface AccessRecord {
  method: string;
  path: string;
  proto: string;
  status: number | "reset";
  route: string;
  /** Milliseconds from request start to response finish. */
  ms: number;
  remote: string | undefined;
  ua: string | undefined;
}
