/**
 * The server log (not the access log) on stderr or `--log-path`, filtered by `--log-level`. Only
 * lifecycle events and errors are logged; nothing per request above debug. Three shapes:
 * - Envoy's default line:  [2026-11-25 10:00:00.123][4242][info][main] starting echomesh-proxy/0.1.0
 * - `--log-format PATTERN`, Envoy's (spdlog's) pattern flags, the subset in FORMAT_FLAGS;
 * - `--log-json`: one JSON object a line, the echo service's field names:
 *   {"level":"info","time":"2026-11-25T10:00:00.123Z","pid":4242,"component":"main","msg":"starting ..."}
 */
import { createWriteStream } from "node:fs";
import type { Writable } from "node:stream";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "critical" | "off";
export const LOG_LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warn", "error", "critical", "off"];

/** How lines look: JSON lines, or an Envoy `--log-format` pattern. */
export type LogFormat = { json: true } | { json: false; pattern: string };

/** Envoy's default pattern (without its source location, which a Node process does not have). */
export const DEFAULT_LOG_FORMAT = "[%Y-%m-%d %T.%e][%t][%l][%n] %v";

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

interface Line {
  time: Date;
  level: LogLevel;
  component: string;
  msg: string;
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** The pattern flags `--log-format` honours (UTC times); any other `%x` is refused at start. */
const FORMAT_FLAGS: Record<string, (l: Line) => string> = {
  Y: (l) => String(l.time.getUTCFullYear()),
  m: (l) => pad(l.time.getUTCMonth() + 1),
  d: (l) => pad(l.time.getUTCDate()),
  H: (l) => pad(l.time.getUTCHours()),
  M: (l) => pad(l.time.getUTCMinutes()),
  S: (l) => pad(l.time.getUTCSeconds()),
  T: (l) => `${pad(l.time.getUTCHours())}:${pad(l.time.getUTCMinutes())}:${pad(l.time.getUTCSeconds())}`,
  e: (l) => pad(l.time.getUTCMilliseconds(), 3),
  f: (l) => `${pad(l.time.getUTCMilliseconds(), 3)}000`,
  // one thread per process here: the thread id is the process id
  t: () => String(process.pid),
  P: () => String(process.pid),
  l: (l) => LEVEL_NAME[l.level],
  L: (l) => (LEVEL_NAME[l.level][0] ?? "").toUpperCase(),
  n: (l) => l.component,
  v: (l) => l.msg,
  // Envoy's JSON-escaped message, for JSON patterns
  j: (l) => JSON.stringify(l.msg).slice(1, -1),
  // source file, line and function: a Node process has none, they stay empty
  g: () => "",
  s: () => "",
  "#": () => "",
  "!": () => "",
  // colour range markers: no colours
  "^": () => "",
  $: () => "",
  "%": () => "%",
};

/** Null when `pattern` uses only FORMAT_FLAGS, else why not (for the usage error). */
export function logFormatProblem(pattern: string): string | null {
  for (const m of pattern.matchAll(/%(.?)/g)) {
    const flag = m[1] ?? "";
    if (!(flag in FORMAT_FLAGS))
      return `--log-format: %${flag} is not supported (supported: ${Object.keys(FORMAT_FLAGS)
        .map((f) => `%${f}`)
        .join(" ")})`;
  }
  return null;
}

/** The pattern split once into literal text and flag functions. */
function compile(pattern: string): (l: Line) => string {
  const parts: ((l: Line) => string)[] = [];
  let at = 0;
  for (const m of pattern.matchAll(/%(.?)/g)) {
    const literal = pattern.slice(at, m.index);
    if (literal !== "") parts.push(() => literal);
    parts.push(FORMAT_FLAGS[m[1] ?? ""] ?? (() => ""));
    at = m.index + m[0].length;
  }
  const rest = pattern.slice(at);
  if (rest !== "") parts.push(() => rest);
  return (l) => parts.map((p) => p(l)).join("");
}

function jsonLine(l: Line): string {
  // the echo's (pino's) first fields in its order, so a mesh's children log alike
  return JSON.stringify({
    level: l.level,
    time: l.time.toISOString(),
    pid: process.pid,
    component: l.component,
    msg: l.msg,
  });
}

export function createLogger(
  level: LogLevel,
  path: string | null = null,
  format: LogFormat = { json: false, pattern: DEFAULT_LOG_FORMAT },
): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const stream: Writable = path === null ? process.stderr : createWriteStream(path, { flags: "a" });
  if (path !== null) stream.on("error", (err) => process.stderr.write(`log file ${path}: ${err.message}\n`));
  const render = format.json ? jsonLine : compile(format.pattern);
  const enabled = (l: LogLevel) => l !== "off" && LOG_LEVELS.indexOf(l) >= threshold;
  const at = (l: LogLevel) => (component: string, msg: string) => {
    if (!enabled(l)) return;
    stream.write(`${render({ time: new Date(), level: l, component, msg })}\n`);
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
