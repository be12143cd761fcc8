/**
 * Access logs: a configured `AccessLogConfig` becomes an AccessLogger (format compiled once, file
 * shared through the AccessLogManager). The connection manager calls `log(entry)` per finished stream.
 */
import type { AccessLogConfig } from "../config/model.js";
import type { AccessLogEntry } from "./entry.js";
import { type AccessLogFormatter, compileFormat } from "./format.js";
import type { AccessLogManager, AccessLogSink } from "./writer.js";

export type { AccessLogEntry } from "./entry.js";
export { type AccessLogFormatter, compileFormat, DEFAULT_FORMAT, FormatError } from "./format.js";
export { AccessLogManager, type AccessLogSink, AccessLogWriter, type WriterOptions } from "./writer.js";

export interface AccessLogger {
  log(entry: AccessLogEntry): void;
}

class FormattedAccessLogger implements AccessLogger {
  constructor(
    private readonly format: AccessLogFormatter,
    private readonly sink: AccessLogSink,
  ) {}
  log(entry: AccessLogEntry): void {
    this.sink.write(this.format(entry));
  }
}

/** Throws FormatError on a bad format string (call at config time). */
export function createAccessLogger(config: AccessLogConfig, manager: AccessLogManager): AccessLogger {
  return new FormattedAccessLogger(compileFormat(config.format), manager.open(config.path));
}

/** One logger for several configs (an HCM may list many access logs); null when there are none. */
export function createAccessLoggers(
  configs: readonly AccessLogConfig[],
  manager: AccessLogManager,
): AccessLogger | null {
  const formats = configs.map((c) => ({ path: c.path, format: compileFormat(c.format) }));
  const loggers = formats
    .filter((f) => f.path !== "/dev/null")
    .map((f) => new FormattedAccessLogger(f.format, manager.open(f.path)));
  if (loggers.length === 0) return null;
  if (loggers.length === 1) return loggers[0] ?? null;
  return {
    log: (entry) => {
      for (const l of loggers) l.log(entry);
    },
  };
}
