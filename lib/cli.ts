/**
 * What every bin of the package shares on its command line: the exit codes (one table, README
 * "Exit codes"), the package version for `--version`, and environment variables read under one
 * prefix (`ECHOMESH_*`) with the older names kept as aliases.
 */
import { readFileSync } from "node:fs";
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
