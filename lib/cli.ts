/**
 * What every bin of the package shares on its command line: the exit codes (one table, README
 * "Exit codes"), the package version for `--version`, and environment variables read under one
 * prefix (`ECHOMESH_*`) with the older names kept as aliases.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fromRoot } from "./paths.js";

/** The exit codes of every bin. */
export const EXIT = {
  /** The job was done. */
  ok: 0,
  /** The job failed: a check failed, a config did not validate, a child crashed. */
  failure: 1,
  /** A bad flag, value or environment variable; the message says which and "Try --help." */
  usage: 2,
  /** Nothing to do, or the target is unavailable: an empty selection, a missing image or binary. */
  unavailable: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The package version, read once from the package's package.json (sources and `dist/` alike). */
export const PACKAGE_VERSION: string = (
  JSON.parse(readFileSync(fromRoot("package.json"), "utf8")) as { version: string }
).version;

/** What `--version` prints: `<bin> <version>`. */
export function versionLine(bin: string): string {
  return `${bin} ${PACKAGE_VERSION}`;
}

/**
 * The value of environment variable `name` (an `ECHOMESH_*` name), else of the first alias set
 * (older names, documented as aliases), else undefined. An empty value counts as unset.
 */
export function envValue(
  env: NodeJS.ProcessEnv,
  name: string,
  aliases: readonly string[] = [],
): string | undefined {
  for (const key of [name, ...aliases]) {
    const value = env[key];
    if (value !== undefined && value !== "") return value;
  }
  return undefined;
}

/** True in a checkout of the repository (sources beside `dist/`), false in an installed package. */
export const IN_CHECKOUT: boolean = existsSync(fromRoot("tsconfig.build.json"));

/**
 * Where a bin writes its reports unless told: `checkoutPath` below the repository in a checkout (as
 * always), else `./<installedName>` in the working directory (an installed package's own folder may
 * not be writable, and reports belong to the user's project).
 */
export function defaultOutputDir(checkoutPath: readonly string[], installedName: string): string {
  return IN_CHECKOUT ? fromRoot(...checkoutPath) : resolve(installedName);
}

/** What a bin prints for a usage error, one line: `echomesh-proxy: --mode must be ... Try --help.` */
export function usageLine(bin: string, message: string): string {
  return `${bin}: ${message}${message.endsWith(".") ? "" : "."} Try --help.\n`;
}

/**
 * The message of a value that is not what a flag takes, e.g. `--concurrency must be a positive
 * integer (got x)`; `flag` may be an environment variable's name.
 */
export function badValue(flag: string, expected: string, got: string): string {
  return `${flag} must be ${expected} (got ${JSON.stringify(got).slice(1, -1) || "nothing"})`;
}

/** node:util `parseArgs`'s errors in the words of the other messages (`unknown flag --x`). */
export function parseArgsMessage(err: unknown): string {
  const { code, message } = err as { code?: string; message: string };
  const flag = /'(-[^' ]+)/.exec(message)?.[1] ?? "";
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown flag ${flag}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return message.includes("argument missing") ? `${flag} needs a value` : `${flag} takes no value`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ""}`;
    default:
      return message;
  }
}

/**
 * `raw` as a whole number in [min, max]; otherwise `usage(badValue(...))` is thrown, so each bin keeps
 * its own error class. The expectation is said in words: "a positive integer", "a port (1-65535)".
 */
export function wholeNumber(
  flag: string,
  raw: string,
  min: number,
  max: number,
  usage: (message: string) => Error,
): number {
  const n = Number(raw);
  if (/^\d+$/.test(raw) && n >= min && n <= max) return n;
  const expected =
    min === 1 && max === 65_535
      ? "a port (1-65535)"
      : max >= Number.MAX_SAFE_INTEGER
        ? min === 1
          ? "a positive integer"
          : `an integer >= ${min}`
        : `an integer from ${min} to ${max}`;
  throw usage(badValue(flag, expected, raw));
}

/** An environment variable that switches something on: 1/true/yes/on or 0/false/no/off. */
export function envFlag(
  env: NodeJS.ProcessEnv,
  name: string,
  aliases: readonly string[],
  usage: (message: string) => Error,
): boolean | undefined {
  const value = envValue(env, name, aliases);
  if (value === undefined) return undefined;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  const used = [name, ...aliases].find((k) => env[k] === value) ?? name;
  throw usage(badValue(used, "1 or 0 (true/false, yes/no, on/off)", value));
}

/** What a bin's command line asks for: a job with its options, or one of the two answers every bin gives. */
export type CommandLine<T> = { kind: "help" } | { kind: "version" } | { kind: "run"; options: T };

/**
 * The prologue of a bin's main: parses the command line; prints the help, the version or a usage
 * error (`isUsageError` tells a bad flag from a bug, which is rethrown); returns the options to run
 * with, or the exit code to end with.
 */
export function readCommandLine<T>(
  bin: string,
  parse: () => CommandLine<T>,
  isUsageError: (err: unknown) => err is Error,
  help: string,
  version = `${versionLine(bin)}\n`,
): { options: T } | { exit: ExitCode } {
  let parsed: CommandLine<T>;
  try {
    parsed = parse();
  } catch (err) {
    if (!isUsageError(err)) throw err;
    process.stderr.write(usageLine(bin, err.message));
    return { exit: EXIT.usage };
  }
  if (parsed.kind === "help") {
    process.stdout.write(help);
    return { exit: EXIT.ok };
  }
  if (parsed.kind === "version") {
    process.stdout.write(version);
    return { exit: EXIT.ok };
  }
  return { options: parsed.options };
}
