/**
 * The server log (not the access log): Envoy-like lines on stderr or `--log-path`, filtered by
 * `--log-level`. Only lifecycle events and errors are logged; nothing per request above debug.
 *   [2026-11-25 10:00:00.123][4242][info][main] starting echomesh-proxy/0.1.0
 */
import { createWriteStream } from "node:fs";
import type { Writable } from "node:stream";
import { LOG_LEVELS, type LogLevel } from "./options.js";

export interface Logger {
  readonly level: LogLevel;
  enabled(level: LogLevel): boolean;
  trace(component: string, msg: string): void;
  debug(component: string, msg: string): void;
  info(component: string, msg: string): void;
  warn(component: string, msg: string): void;
  error(component: string, msg: string): void;
  critical(component: string, msg: string): void;
  close(): Promise<void>;
}

const LEVEL_NAME: Record<LogLevel, string> = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warn: "warning",
  error: "error",
  critical: "critical",
  off: "off",
};

function timestamp(d: Date): string {
  return d.toISOString().replace("T", " ").replace("Z", "");
}

export function createLogger(level: LogLevel, path: string | null = null): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const stream: Writable = path === null ? process.stderr : createWriteStream(path, { flags: "a" });
  if (path !== null) stream.on("error", (err) => process.stderr.write(`log file ${path}: ${err.message}\n`));
  const enabled = (l: LogLevel) => l !== "off" && LOG_LEVELS.indexOf(l) >= threshold;
  const at = (l: LogLevel) => (component: string, msg: string) => {
    if (!enabled(l)) return;
    stream.write(`[${timestamp(new Date())}][${process.pid}][${LEVEL_NAME[l]}][${component}] ${msg}\n`);
  };
  return {
    level,
    enabled,
    trace: at("trace"),
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    critical: at("critical"),
    close: () =>
      new Promise((resolve) => {
        if (path === null) resolve();
        else stream.end(() => resolve());
      }),
  };
}

/** A logger that drops everything (tests, validate mode internals). */
export const silentLogger: Logger = createLogger("off");
