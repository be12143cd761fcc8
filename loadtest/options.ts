/** `npm run bench -- [flags]`: see USAGE and loadtest/README.md. */
import { parseArgs } from "node:util";
import { COMMON_FLAGS, type CommonOptions, commonOptions, numberFlag as num } from "./command.js";

export interface BenchOptions extends CommonOptions {
  durationS: number;
  warmupS: number;
  rounds: number;
  connections: number;
  only: string[];
  wsSockets: number;
  quick: boolean;
  list: boolean;
}

export const USAGE = `Usage: npm run bench -- [options]     (or: node dist/loadtest/bench.js [options])

  --duration S       seconds per measured run (default 10; --quick: 1)
  --warmup S         discarded warm-up before each run (default 3; --quick: 1)
  --rounds N         interleaved rounds A B C A B C (default 2; --quick: 1)
  --connections N    concurrent connections for autocannon (default 50)
  --only PATTERN     run only scenario[/target]; '*' wildcards; repeatable or comma-separated
                     (each scenario's baseline always runs too), e.g. --only get/haproxy,echo
  --ws-sockets N     idle WebSockets for ws-idle (default 5000; --quick: 200)
  --no-pin           do not pin the load generator / servers with taskset
  --out DIR          where latest.{md,json,svg} go (default loadtest/results)
  --quick            smoke check: all scenarios, 1 round of 1 s each after 1 s warm-up (about 2 minutes)
  --list             list scenarios and targets (and why a target is unavailable), then exit
  -h, --help         this text
`;

export function parseBenchArgs(argv: string[]): BenchOptions {
  const { values } = parseArgs({
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
      ...COMMON_FLAGS,
    },
  });
  const quick = values.quick === true;
  return {
    durationS: num("duration", values.duration, quick ? 1 : 10, 0.2),
    warmupS: num("warmup", values.warmup, quick ? 1 : 3, 0),
    rounds: Math.round(num("rounds", values.rounds, quick ? 1 : 2, 1)),
    connections: Math.round(num("connections", values.connections, 50, 1)),
    only: (values.only ?? []).flatMap((o) => o.split(",")).filter((o) => o !== ""),
    wsSockets: Math.round(num("ws-sockets", values["ws-sockets"], quick ? 200 : 5000, 1)),
    quick,
    list: values.list === true,
    ...commonOptions(values),
  };
}
