#!/usr/bin/env node
/**
 * `echomesh-conformance`: the conformance suite in one command, for our proxy, Envoy, the peers
 * (HAProxy, nginx, Caddy) and the user's own proxy (a running one at `--target-url`, a local program
 * with `--target-command`, an image with `--target-image`). `--help` says everything; the exit codes
 * are `EXIT`. From a checkout it runs the incremental build first (and itself again when the build
 * changed `dist/`), so nothing stale runs; installed from a package, it runs as is.
 */
import { spawn } from "node:child_process";
import { realpathSync, statSync } from "node:fs";
import { constants } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildOnce, checkoutCompiler } from "../lib/build.js";
import {
  EXIT as CLI_EXIT,
  defaultOutputDir,
  IN_CHECKOUT,
  usageLine,
  versionLine,
  wholeNumber,
} from "../lib/cli.js";
import { fromDist } from "../lib/paths.js";
import type { Dialect } from "../lib/topology/model.js";
import {
  EXTERNAL_TOPOLOGY,
  externalDriver,
  externalTarget,
  parseHostPort,
} from "./harness/driver-external.js";
import { ALL_FEATURES, FEATURES } from "./harness/features.js";
import { writeMatrix } from "./harness/matrix.js";
import {
  buildReport,
  newRunDir,
  progressLine,
  type Report,
  summaryLine,
  summaryTable,
  writeReport,
} from "./harness/report.js";
import { matching, repeated, runAll } from "./harness/runner.js";
import { driverFor, selectDriver } from "./harness/select.js";
import { DEFAULT_TARGETS, MATRIX_TARGETS, selectTarget, selectTargets, targets } from "./harness/targets.js";
import { topology } from "./harness/topologies.js";
import type { Driver, Endpoint, Feature, Target, TestResult } from "./harness/types.js";
import { commandTarget, DIALECTS, URL_FEATURES, userImageTarget } from "./harness/user_targets.js";
import { allTests } from "./tests/index.js";

/** The exit codes, lib/cli.ts's table in this command's words (`--help`, conformance/README.md). */
export const EXIT = {
  /** Every test that ran passed (a target's known peer defects do not fail a run). */
  passed: CLI_EXIT.ok,
  /** A test failed. */
  failed: CLI_EXIT.failure,
  /** The command line is wrong (the message names the flag). */
  usage: CLI_EXIT.usage,
  /** A target named on the command line is unavailable, or nothing ran (every test skipped). */
  nothingRan: CLI_EXIT.unavailable,
} as const;

const BIN = "echomesh-conformance";

/** A wrong command line: the message names the flag. */
export class UsageError extends Error {}

type DriverName = "auto" | "containers" | "processes";

/** Reports: conformance/report in a checkout, ./echomesh-conformance when installed. */
const REPORT_DIR = defaultOutputDir(["conformance", "report"], "echomesh-conformance");

export interface Options {
  help: boolean;
  version: boolean;
  list: boolean;
  only: string[];
  targets: string[];
  allTargets: boolean;
  driver: DriverName | undefined;
  reportDir: string;
  /** Rounds of each test (default: ECHOMESH_REPEAT, else 1). */
  repeat: number | undefined;
  /** The user's proxy, in one of three forms (at most one). */
  targetUrl: URL | undefined;
  backends: Endpoint[];
  targetCommand: string | undefined;
  targetImage: string | undefined;
  dialect: Dialect | undefined;
  features: Feature[] | undefined;
  /** The user's target's name in reports (default: url for --target-url, else my-proxy). */
  name: string | undefined;
}

const FLAGS: { flag: string; value?: string; help: string }[] = [
  { flag: "--help", help: "this text" },
  { flag: "--version", help: "the echomesh version" },
  { flag: "--list", help: "every test (id, feature, topology, description), then every feature's meaning" },
  {
    flag: "--only",
    value: "ID|FEATURE|TOPOLOGY[,...]",
    help: "run only the tests whose id starts with, or whose feature or topology is, one of these (default: ECHOMESH_TESTS, else all)",
  },
  {
    flag: "--target",
    value: "NAME[,NAME]",
    help: `built-in targets to run (default: ECHOMESH_TARGETS, else ${DEFAULT_TARGETS.join(",")}; every name is listed below)`,
  },
  {
    flag: "--all-targets",
    help: `every built-in target of the matrix (${MATRIX_TARGETS.join(", ")}; image only when ECHOMESH_TARGET_IMAGE is set); unavailable ones are reported, not run`,
  },
  {
    flag: "--driver",
    value: "auto|containers|processes",
    help: "auto (default, or ECHOMESH_DRIVER): containers when Docker answers and the target runs in one, else processes",
  },
  { flag: "--report-dir", value: "DIR", help: `where reports go (default ${REPORT_DIR})` },
  {
    flag: "--repeat",
    value: "N",
    help: "run each test N times, a topology start per round (default: ECHOMESH_REPEAT, else 1)",
  },
  {
    flag: "--target-url",
    value: "http://HOST:PORT",
    help: `your proxy, already running, routing / and /ws round robin to --backends; runs the tests of topology ${EXTERNAL_TOPOLOGY}`,
  },
  {
    flag: "--backends",
    value: "HOST:PORT,HOST:PORT",
    help: "with --target-url: where your proxy sends traffic; the suite starts an echo on each",
  },
  {
    flag: "--target-command",
    value: "'PROGRAM ARGS'",
    help: "a local program the suite configures: {config} is the rendered config file, {dir} its scratch folder, {cluster} the service cluster",
  },
  {
    flag: "--target-image",
    value: "IMAGE",
    help: "an image run by the container driver with the rendered config (Envoy dialects; pulled only when absent, never re-tagged)",
  },
  {
    flag: "--dialect",
    value: DIALECTS.join("|"),
    help: "with --target-command or --target-image: the config language the suite renders",
  },
  {
    flag: "--features",
    value: "F[,F]",
    help: `what your proxy claims (default: --target-url ${URL_FEATURES.join(",")}; otherwise what the dialect's built-in target claims)`,
  },
  {
    flag: "--name",
    value: "NAME",
    help: "your target's name in reports (default url for --target-url, else my-proxy)",
  },
];

const VALUE_FLAGS = new Set(FLAGS.filter((f) => f.value !== undefined).map((f) => f.flag));
const KNOWN_FLAGS = new Set(FLAGS.map((f) => f.flag));

function list(flag: string, value: string): string[] {
  const items = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new UsageError(`${flag}: empty list`);
  return items;
}

function endpoint(flag: string, value: string): Endpoint {
  try {
    return parseHostPort(value, flag);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function httpUrl(flag: string, value: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    // said below
  }
  if (url?.protocol !== "http:" || url.pathname !== "/" || url.search || url.hash || url.username)
    throw new UsageError(`${flag}: ${value} is not http://HOST:PORT (plain HTTP, no path)`);
  return url;
}

/** The command line to options; throws `UsageError` naming the flag that is wrong. */
export function parseArgs(argv: string[]): Options {
  const o: Options = {
    help: false,
    version: false,
    list: false,
    only: [],
    targets: [],
    allTargets: false,
    driver: undefined,
    reportDir: REPORT_DIR,
    repeat: undefined,
    targetUrl: undefined,
    backends: [],
    targetCommand: undefined,
    targetImage: undefined,
    dialect: undefined,
    features: undefined,
    name: undefined,
  };
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    if (!KNOWN_FLAGS.has(flag))
      throw new UsageError(arg.startsWith("-") ? `unknown flag ${flag}` : `unexpected argument ${arg}`);
    if (seen.has(flag)) throw new UsageError(`${flag} is given twice`);
    seen.add(flag);
    let value = "";
    if (VALUE_FLAGS.has(flag)) {
      const next = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (next === undefined || next === "" || (eq === -1 && next.startsWith("--")))
        throw new UsageError(`${flag} needs a value`);
      value = next;
    } else if (eq !== -1) throw new UsageError(`${flag} takes no value`);
    switch (flag) {
      case "--help":
        o.help = true;
        break;
      case "--version":
        o.version = true;
        break;
      case "--list":
        o.list = true;
        break;
      case "--only":
        o.only = list(flag, value);
        break;
      case "--target": {
        o.targets = list(flag, value);
        const known = targets().map((t) => t.name);
        const unknown = o.targets.filter((t) => !known.includes(t));
        if (unknown.length > 0)
          throw new UsageError(`--target: unknown ${unknown.join(", ")}; known: ${known.join(", ")}`);
        if (new Set(o.targets).size !== o.targets.length)
          throw new UsageError("--target: a target is named twice");
        break;
      }
      case "--all-targets":
        o.allTargets = true;
        break;
      case "--driver":
        if (value !== "auto" && value !== "containers" && value !== "processes")
          throw new UsageError(`--driver: ${value}; use auto, containers or processes`);
        o.driver = value;
        break;
      case "--report-dir":
        o.reportDir = resolve(value);
        break;
      case "--repeat":
        o.repeat = wholeNumber(flag, value, 1, Number.MAX_SAFE_INTEGER, (m) => new UsageError(m));
        break;
      case "--target-url":
        o.targetUrl = httpUrl(flag, value);
        break;
      case "--backends":
        o.backends = list(flag, value).map((b) => endpoint(flag, b));
        break;
      case "--target-command":
        o.targetCommand = value;
        break;
      case "--target-image":
        o.targetImage = value;
        break;
      case "--dialect":
        if (!DIALECTS.includes(value as Dialect))
          throw new UsageError(`--dialect: ${value}; use one of ${DIALECTS.join(", ")}`);
        o.dialect = value as Dialect;
        break;
      case "--features": {
        const fs = list(flag, value);
        const unknown = fs.filter((f) => !ALL_FEATURES.includes(f as Feature));
        if (unknown.length > 0)
          throw new UsageError(`--features: unknown ${unknown.join(", ")} (see --list for every feature)`);
        o.features = fs as Feature[];
        break;
      }
      case "--name":
        if (!/^[A-Za-z0-9._-]+$/.test(value))
          throw new UsageError(
            `--name: ${value}; use letters, digits, '.', '_' and '-' (it names report files)`,
          );
        o.name = value;
        break;
    }
  }
  return checked(o);
}

/** The rules between flags. */
function checked(o: Options): Options {
  const modes = [
    o.targetUrl && "--target-url",
    o.targetCommand !== undefined && "--target-command",
    o.targetImage !== undefined && "--target-image",
  ].filter(Boolean);
  if (modes.length > 1) throw new UsageError(`${modes.join(" and ")}: give one of them`);
  const mode = modes[0];
  if (mode && (o.targets.length > 0 || o.allTargets))
    throw new UsageError(`${mode} runs your proxy: it does not go with --target or --all-targets`);
  if (o.targets.length > 0 && o.allTargets)
    throw new UsageError("--target and --all-targets: give one of them");
  if (o.targetUrl) {
    const want = topology(EXTERNAL_TOPOLOGY).echos.length;
    if (o.backends.length !== want)
      throw new UsageError(`--backends: --target-url needs ${want} backend addresses (HOST:PORT,HOST:PORT)`);
    if (o.dialect)
      throw new UsageError(
        "--dialect: the suite writes no config for --target-url (it goes with --target-command or --target-image)",
      );
    if (o.driver)
      throw new UsageError("--driver: --target-url runs against your proxy, with echo processes here");
  } else if (o.backends.length > 0) throw new UsageError("--backends goes with --target-url");
  if ((o.targetCommand !== undefined || o.targetImage !== undefined) && !o.dialect)
    throw new UsageError(`--dialect: ${mode} needs the config language to render (${DIALECTS.join(", ")})`);
  if (!mode && o.dialect) throw new UsageError("--dialect goes with --target-command or --target-image");
  if (!mode && o.features)
    throw new UsageError("--features goes with --target-url, --target-command or --target-image");
  if (o.targetCommand !== undefined && o.driver === "containers")
    throw new UsageError("--driver: --target-command runs with the process driver");
  if (o.targetImage !== undefined && o.driver === "processes")
    throw new UsageError("--driver: --target-image runs with the container driver");
  return o;
}

export function helpText(): string {
  const w = Math.max(...FLAGS.map((f) => `${f.flag} ${f.value ?? ""}`.length));
  return [
    "echomesh-conformance: the conformance suite against proxies (ours, Envoy, HAProxy, nginx, Caddy or yours)",
    "",
    "usage: echomesh-conformance [flags]",
    "",
    ...FLAGS.map((f) => `  ${`${f.flag} ${f.value ?? ""}`.padEnd(w)}  ${f.help}`),
    "",
    `built-in targets: ${targets()
      .map((t) => t.name)
      .join(", ")}`,
    "",
    "exit codes:",
    `  ${EXIT.passed}  every test that ran passed (a target's known peer defects do not fail)`,
    `  ${EXIT.failed}  a test failed`,
    `  ${EXIT.usage}  usage error (the message names the flag)`,
    `  ${EXIT.nothingRan}  a target named on the command line is unavailable, or nothing ran (every test skipped)`,
    "",
    "examples:",
    "  echomesh-conformance --target-url http://127.0.0.1:8080 --backends 127.0.0.1:9001,127.0.0.1:9002",
    "  echomesh-conformance --target-command 'haproxy -db -f {config}' --dialect haproxy",
    "  echomesh-conformance --target-image envoyproxy/envoy:v1.31.0 --dialect envoy-v3",
    "  echomesh-conformance --all-targets",
    "",
  ].join("\n");
}

function listText(): string {
  const rows = allTests.map((t) => [t.id, t.feature, t.topology, t.description] as const);
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
  const fw = Math.max(...ALL_FEATURES.map((f) => f.length));
  return [
    `tests (${rows.length}):`,
    ...rows.map(
      ([id, f, topo, d]) =>
        `  ${id.padEnd(w[0] ?? 0)}  ${f.padEnd(w[1] ?? 0)}  ${topo.padEnd(w[2] ?? 0)}  ${d}`,
    ),
    "",
    `features (${ALL_FEATURES.length}):`,
    ...ALL_FEATURES.map((f) => `  ${f.padEnd(fw)}  ${FEATURES[f]}`),
    "",
  ].join("\n");
}

/**
 * In an installed package the container driver is missing its image build (scripts/build-local-image.sh
 * and testcontainers live in a checkout): what to say instead of running it, or null.
 */
function containersNeedCheckout(o: Options): string | null {
  if (IN_CHECKOUT) return null;
  const wants =
    o.targetImage !== undefined
      ? "--target-image"
      : o.driver === "containers" || (o.driver === undefined && process.env.ECHOMESH_DRIVER === "containers")
        ? "the container driver"
        : null;
  return wants === null
    ? null
    : `${wants} runs from a checkout of echomesh (its image is built by scripts/build-local-image.sh and driven by testcontainers); installed from the package, use --target-url or --target-command, or the process driver`;
}

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

/** The targets of this run, in order; `explicit` when the user named them (unavailable = exit 3). */
function plan(o: Options): { targets: Target[]; explicit: boolean } {
  if (o.targetUrl) {
    const target = externalTarget(o.targetUrl, o.features ?? URL_FEATURES);
    return { targets: [o.name === undefined ? target : { ...target, name: o.name }], explicit: true };
  }
  const name = o.name ?? "my-proxy";
  if (o.targetCommand !== undefined && o.dialect)
    return { targets: [commandTarget(name, o.targetCommand, o.dialect, o.features)], explicit: true };
  if (o.targetImage !== undefined && o.dialect)
    return { targets: [userImageTarget(name, o.targetImage, o.dialect, o.features)], explicit: true };
  if (o.allTargets) {
    const names = MATRIX_TARGETS.filter((n) => n !== "image" || process.env.ECHOMESH_TARGET_IMAGE);
    return { targets: names.map(selectTarget), explicit: false };
  }
  // ECHOMESH_TARGETS / ECHOMESH_TARGET (as the vitest entry reads them), else DEFAULT_TARGETS.
  return { targets: o.targets.length > 0 ? o.targets.map(selectTarget) : selectTargets(), explicit: true };
}

/** Runs the command line; resolves to the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  let o: Options;
  try {
    o = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(usageLine(BIN, err.message).trimEnd());
    return EXIT.usage;
  }
  const text = o.help ? helpText() : o.version ? versionLine(BIN) : o.list ? listText() : undefined;
  if (text !== undefined) {
    io.out(text);
    return EXIT.passed;
  }
  const needsCheckout = containersNeedCheckout(o);
  if (needsCheckout !== null) {
    io.err(`${BIN}: ${needsCheckout}; nothing ran`);
    return EXIT.nothingRan;
  }

  // Without --only, ECHOMESH_TESTS narrows as it does for the vitest entry.
  const only = o.only.length > 0 ? o.only : (process.env.ECHOMESH_TESTS ?? "").split(",").filter(Boolean);
  const chosen = matching(allTests, only);
  if (chosen.length === 0) {
    io.err(`${BIN}: no test matches --only ${only.join(",")} (see --list); nothing ran`);
    return EXIT.nothingRan;
  }
  let rounds: number;
  try {
    rounds =
      o.repeat ??
      wholeNumber(
        "ECHOMESH_REPEAT",
        process.env.ECHOMESH_REPEAT || "1",
        1,
        Number.MAX_SAFE_INTEGER,
        (m) => new UsageError(m),
      );
  } catch (err) {
    io.err(usageLine(BIN, (err as Error).message).trimEnd());
    return EXIT.usage;
  }
  const tests = repeated(chosen, rounds);
  /** Reports list tests in --list order (a repeated copy `<id>#<k>` beside its original). */
  const order = new Map(chosen.map((t, i) => [t.id, i]));
  const rank = (id: string) => order.get(id.split("#")[0] ?? id) ?? 0;
  const { targets: toRun, explicit } = plan(o);

  const drivers = new Map<string, Promise<Driver>>();
  const driverOf = (name: DriverName) => {
    let d = drivers.get(name);
    if (d === undefined) {
      d = selectDriver(name);
      drivers.set(name, d);
    }
    return d;
  };
  /** Per target: --driver if given, else the auto choice where the target runs with it, else processes. */
  const driverOfTarget = async (target: Target): Promise<Driver> => {
    const url = o.targetUrl;
    if (url) {
      let d = drivers.get("external");
      if (d === undefined) {
        d = Promise.resolve(externalDriver(url, o.backends, io.out));
        drivers.set("external", d);
      }
      return d;
    }
    if (o.targetCommand !== undefined) return driverOf("processes");
    if (o.targetImage !== undefined) return driverOf("containers");
    const wanted = o.driver ?? process.env.ECHOMESH_DRIVER;
    if (wanted === "containers" || wanted === "processes") return driverOf(wanted);
    if (!IN_CHECKOUT) {
      // installed from the package: no image to build, so no container driver to try (containersNeedCheckout)
      let d = drivers.get("installed");
      if (d === undefined) {
        d = import("./harness/driver-processes.js").then((m) =>
          m.processDriver(
            "installed from the package: processes (the container driver runs from a checkout)",
          ),
        );
        drivers.set("installed", d);
      }
      return d;
    }
    return driverFor(target, await driverOf("auto"), () => driverOf("processes"));
  };

  const reports: Report[] = [];
  /** A test run broke off (a topology that did not stop cleanly): a failure. */
  let crashed = false;
  /** A target named on the command line had no driver (e.g. --driver containers without Docker). */
  let noDriver = false;
  const runDir = newRunDir(o.reportDir);
  try {
    for (const target of toRun) {
      const startedAt = Date.now();
      let driver: Driver;
      try {
        driver = await driverOfTarget(target);
      } catch (err) {
        io.err(`[conformance] target ${target.name}: no driver: ${(err as Error).message}`);
        noDriver = noDriver || explicit;
        continue;
      }
      const unavailable = await target.unavailable(driver.name);
      io.out(
        `\n[conformance] target: ${target.name} (${target.description}), driver: ${driver.name} (${driver.reason})` +
          `${unavailable ? `\n[conformance] UNAVAILABLE: ${unavailable}` : ""}`,
      );
      const results: TestResult[] = [];
      const onResult = (r: TestResult) => {
        results.push(r);
        io.out(progressLine(target.name, r));
      };
      if (o.targetUrl) {
        const runs = tests.filter((t) => t.topology === EXTERNAL_TOPOLOGY).length;
        io.out(
          `[conformance] runs the ${runs} selected tests of topology ${EXTERNAL_TOPOLOGY} (one proxy routing / and /ws round robin to ${o.backends.length} backends); ` +
            `the other ${tests.length - runs} are skipped: they need a topology the suite configures`,
        );
      }
      try {
        await runAll(driver, target, tests, onResult);
      } catch (err) {
        // A topology that did not stop cleanly (unexpected errors counted by a process): a failure.
        io.err(`[conformance] target ${target.name}: ${(err as Error).message}`);
        crashed = true;
      }
      results.sort((a, b) => rank(a.id) - rank(b.id));
      const report = buildReport(target, driver, results, startedAt, unavailable);
      const file = writeReport(report, `latest-${target.name}`, o.reportDir);
      writeReport(report, target.name, runDir);
      reports.push(report);
      io.out(`\n${summaryTable(report)}\nreport: ${file}`);
    }
  } finally {
    for (const d of drivers.values()) await (await d.catch(() => undefined))?.close();
  }
  if (reports.length > 0) io.out(`\n${reports.map(summaryLine).join("\n")}`);
  if (reports.length > 1) {
    writeMatrix(reports, runDir);
    io.out(`matrix: ${writeMatrix(reports, o.reportDir).join(", ")}`);
  }
  const failed = reports.some((r) =>
    r.results.some((x) => x.outcome === "failed" && x.knownDefect === undefined),
  );
  if (failed || crashed) return EXIT.failed;
  const ran = reports.some((r) => r.results.some((x) => x.outcome !== "skipped"));
  const missing = noDriver || (explicit && reports.some((r) => r.targetUnavailable !== null));
  return ran && !missing ? EXIT.passed : EXIT.nothingRan;
}

/** `--help`, `--version` and usage errors need no build. */
function needsBuild(argv: string[]): boolean {
  return !argv.some((a) => a === "--help" || a === "--version");
}

/** Runs this file again (the build changed `dist/` under it), with the same arguments. */
function again(argv: string[]): Promise<number> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...argv], {
      stdio: "inherit",
      env: { ...process.env, ECHOMESH_CONFORMANCE_BUILT: "1" },
    });
    child.on("error", fail);
    child.on("exit", (code, signal) => done(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}

function mtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

async function entry(): Promise<number> {
  const argv = process.argv.slice(2);
  if (needsBuild(argv) && process.env.ECHOMESH_CONFORMANCE_BUILT !== "1" && checkoutCompiler() !== null) {
    const stamp = fromDist(".tsbuildinfo");
    const before = mtime(stamp);
    await buildOnce();
    if (mtime(stamp) !== before) return again(argv);
  }
  return main(argv, {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
}

const invoked = process.argv[1];
if (invoked !== undefined && import.meta.url === pathToFileURL(realpathSync(invoked)).href) {
  entry().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${BIN}: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = EXIT.failed;
    },
  );
}
