/** `echomesh-bench [flags]` (`npm run bench -- [flags]`): see USAGE and loadtest/README.md. */
import { parseArgs } from "node:util";
import { EXIT, parseArgsMessage } from "../lib/cli.js";
import { COMMON_FLAGS, type CommonOptions, commonOptions, countFlag, numberFlag as num } from "./command.js";

export interface BenchOptions extends CommonOptions {
  durationS: number;
  warmupS: number;
  rounds: number;
  connections: number;
  only: string[];
  wsSockets: number;
  quick: boolean;
  list: boolean;
  version: boolean;
  /** A goal this run measured and missed is exit code 1 (k6's thresholds, for CI). */
  failOnGoals: boolean;
}

export const USAGE = `Usage: echomesh-bench [options]     (in a checkout: npm run bench -- [options])

  --duration S       seconds per measured run (default 10; --quick: 1)
  --warmup S         discarded warm-up before each run (default 3; --quick: 1)
  --rounds N         interleaved rounds A B C A B C (default 2; --quick: 1)
  --connections N    concurrent connections for autocannon (default 50)
  --only PATTERN     run only scenario[/target]; '*' wildcards; repeatable or comma-separated
                     (each scenario's baseline always runs too), e.g. --only get/haproxy,echo
  --ws-sockets N     idle WebSockets for ws-idle (default 5000; --quick: 200)
  --no-pin           do not pin the load generator / servers with taskset
  --out DIR          where latest.{md,json,svg} go, and each run's copy in runs/<time>/ (default:
                     loadtest/results in a checkout, ./echomesh-bench when installed)
  --quick            smoke check: all scenarios, 1 round of 1 s each after 1 s warm-up (about 2 minutes)
  --fail-on-goals    exit ${EXIT.failure} when a goal this run measured is missed (goals not measured do not fail)
  --list             list scenarios and targets (and why a target is unavailable), then exit
  --scenario attack|soak|reload   the runs that are not throughput rounds (--scenario X --help)
  -h, --help         this text
      --version      print the version

Exit codes: ${EXIT.ok} done, ${EXIT.failure} failed (or a goal missed with --fail-on-goals), ${EXIT.usage} usage,
${EXIT.unavailable} nothing to do (--only selects nothing; the last report stays).
`;

/** Throws an Error whose message names the flag (`--rounds must be a number >= 1 (got x)`). */
export function parseBenchArgs(argv: string[]): BenchOptions {
  let values: ReturnType<typeof parse>["values"];
  try {
    ({ values } = parse(argv));
  } catch (err) {
    throw new Error(parseArgsMessage(err));
  }
  const quick = values.quick === true;
  return {
    durationS: num("duration", values.duration, quick ? 1 : 10, 0.2),
    warmupS: num("warmup", values.warmup, quick ? 1 : 3, 0),
    rounds: countFlag("rounds", values.rounds, quick ? 1 : 2),
    connections: countFlag("connections", values.connections, 50),
    only: (values.only ?? []).flatMap((o) => o.split(",")).filter((o) => o !== ""),
    wsSockets: countFlag("ws-sockets", values["ws-sockets"], quick ? 200 : 5000),
    quick,
    list: values.list === true,
    version: values.version === true,
    failOnGoals: values["fail-on-goals"] === true,
    ...commonOptions(values),
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: "string" },
      warmup: { type: "string" },
      rounds: { type: "string" },
      connections: { type: "string" },
      only: { type: "string", multiple: true },
      "ws-sockets": { type: "string" },
      quick: { type: "boolean" },
      list: { type: "boolean" },
      version: { type: "boolean" },
      "fail-on-goals": { type: "boolean" },
      ...COMMON_FLAGS,
    },
  });
}
