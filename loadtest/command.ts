/**
 * What the load-test commands (bench, attack, soak) share: numeric flags, the interrupt that stops
 * every process a run started, the report files, and the command line around a run (usage, `--help`,
 * the report, the exit code).
 */
import { mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { badValue, EXIT, parseArgsMessage, usageLine } from "../lib/cli.js";

/** The flags every command takes (parseArgs options): --no-pin, --out DIR, -h / --help. */
export const COMMON_FLAGS = {
  "no-pin": { type: "boolean" },
  out: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** What COMMON_FLAGS give every command's options. */
export interface CommonOptions {
  /** Pin the load generator and the servers to cores with taskset (unless --no-pin). */
  pin: boolean;
  /** Where the report goes (default loadtest/results). */
  outDir: string | undefined;
  help: boolean;
}

export function commonOptions(values: { "no-pin"?: boolean; out?: string; help?: boolean }): CommonOptions {
  return { pin: values["no-pin"] !== true, outDir: values.out, help: values.help === true };
}

/** A numeric flag: `dflt` when absent; an error naming `--name` when not a number >= `min`. */
export function numberFlag(name: string, v: string | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < min)
    throw new Error(badValue(`--${name}`, `a number >= ${min}`, v));
  return n;
}

/** A whole-number flag >= 1: `dflt` when absent. */
export function countFlag(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1) throw new Error(badValue(`--${name}`, "a positive integer", v));
  return n;
}

/**
 * Until the returned function is called, SIGINT or SIGTERM says so on `log`, runs `stop` (every
 * process the `command` started) and exits 130.
 */
export function stopOnInterrupt(
  command: string,
  log: (s: string) => void,
  stop: () => Promise<unknown>,
): () => void {
  const onSignal = (): void => {
    log(`\ninterrupted: stopping every process the ${command} started\n`);
    void stop().then(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}

/** Where a run's report went. */
export interface ReportFiles {
  md: string;
  json: string;
  svg?: string;
}

/**
 * Writes a run's report into `outDir` (made if missing): `<base>.md`, `<base>.json` (`data`, indented)
 * and, when there is a chart, `<base>.svg`.
 */
export function writeReport(
  outDir: string,
  base: string,
  report: { markdown: string; data: unknown; svg?: string },
): ReportFiles {
  mkdirSync(outDir, { recursive: true });
  const files: ReportFiles = { md: join(outDir, `${base}.md`), json: join(outDir, `${base}.json`) };
  writeFileSync(files.md, report.markdown);
  writeFileSync(files.json, `${JSON.stringify(report.data, null, 2)}\n`);
  if (report.svg !== undefined) {
    files.svg = join(outDir, `${base}.svg`);
    writeFileSync(files.svg, report.svg);
  }
  return files;
}

export interface Command<O extends { help: boolean }> {
  name: string;
  usage: string;
  parse(argv: string[]): O;
  run(o: O): Promise<{ markdown: string; files: ReportFiles }>;
}

/** Parses `argv` (a bad flag: one line and exit code 2), answers `--help`, runs, prints the report. */
export async function commandMain<O extends { help: boolean }>(
  c: Command<O>,
  argv: string[],
): Promise<number> {
  let o: O;
  try {
    o = c.parse(argv);
  } catch (err) {
    process.stderr.write(usageLine(`echomesh-bench --scenario ${c.name}`, parseArgsMessage(err)));
    return EXIT.usage;
  }
  if (o.help) {
    process.stdout.write(c.usage);
    return 0;
  }
  const { markdown, files } = await c.run(o);
  process.stdout.write(`\n${markdown}\n`);
  process.stderr.write(`wrote ${Object.values(files).join(", ")}\n`);
  return 0;
}

/**
 * Runs `main` with the command line's arguments and exits with its code when `node <name>.js` started
 * this process, directly or through an installed bin's symlink (`echomesh-bench`).
 */
export function runIfMain(name: string, main: (argv: string[]) => Promise<number>): void {
  const script = process.argv[1];
  if (script === undefined || !new RegExp(`${name}\\.[jt]s$`).test(realpathSync(script))) return;
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
