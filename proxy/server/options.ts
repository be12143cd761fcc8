/**
 * The command line, Envoy's flags where they mean something here:
 *   echomesh-proxy -c /etc/front-envoy.yaml --service-cluster front-proxy
 * Hot-restart flags (`--base-id`, `--restart-epoch`...) are accepted and ignored (a warning each) so
 * existing Envoy command lines work; any other unknown flag or bad value is a usage error (exit 2).
 * Environment: ECHOMESH_LOG_LEVEL, ECHOMESH_LOG_JSON, ECHOMESH_DNS_MAP (flags win).
 */
import { parseArgs } from "node:util";
import {
  badValue,
  type CommandLine,
  envFlag,
  envValue,
  parseArgsMessage,
  wholeNumber,
} from "../../lib/cli.js";
import { EchomeshError } from "../../lib/errors.js";
import { DEFAULT_LOG_FORMAT, LOG_LEVELS, type LogFormat, type LogLevel, logFormatProblem } from "./log.js";

export { LOG_LEVELS, type LogLevel } from "./log.js";

export interface ProxyOptions {
  configPath: string | null;
  configYaml: string | null;
  mode: "serve" | "validate";
  serviceCluster: string | null;
  serviceNode: string | null;
  serviceZone: string | null;
  /** Worker processes; default 1 (see README: exact round-robin rotation is per worker). */
  concurrency: number;
  logLevel: LogLevel;
  /** `--log-json` (JSON lines) or `--log-format PATTERN` (Envoy's pattern flags; default Envoy's line). */
  logFormat: LogFormat;
  /** Server log file; null = stderr. */
  logPath: string | null;
  /** How long SIGTERM/SIGINT waits for open connections to finish, seconds. Default 5. */
  drainTimeS: number;
  /** Access log flush interval (Envoy's `--file-flush-interval-msec`), default 1000. */
  fileFlushIntervalMs: number;
  /** DNS overrides from `--dns-map` and ECHOMESH_DNS_MAP: name -> IP literals. */
  dnsMap: Map<string, string[]>;
  /** `--watch`: reload when the config file changes (as on SIGHUP). */
  watch: boolean;
  /** Flags accepted for compatibility and ignored, for `/server_info`. */
  ignored: Record<string, string | boolean>;
}

export const DEFAULT_DRAIN_TIME_S = 5;

export const USAGE = `Usage: echomesh-proxy (-c FILE | --config-yaml YAML) [options]

Runs Envoy static configs (v2 \`config:\` and v3 \`typed_config\`, YAML or JSON).

  -c, --config-path FILE        Envoy bootstrap file (YAML or JSON)
      --config-yaml STRING      bootstrap as a YAML string (merged over --config-path when both)
      --mode serve|validate     validate: load and build everything, bind nothing, print every
                                error; exit 0 if valid, 1 if not (default: serve)
      --service-cluster NAME    node cluster (shown by /server_info)
      --service-node NAME       node id (shown by /server_info)
      --service-zone NAME       node zone (shown by /server_info)
      --concurrency N           worker processes sharing the listeners (default 1: round robin
                                rotates exactly per worker, so one worker alternates exactly)
  -l, --log-level LEVEL         trace|debug|info|warn|error|critical|off (default info;
                                ECHOMESH_LOG_LEVEL)
      --log-json                the server log as JSON lines: level, time, pid, component, msg
                                (ECHOMESH_LOG_JSON=1)
      --log-format PATTERN      the server log line as Envoy's --log-format: %Y %m %d %T %e %t %l
                                %n %v %j ... (default "${DEFAULT_LOG_FORMAT}")
      --log-path FILE           write the server log to FILE instead of stderr
      --drain-time-s N          on SIGTERM/SIGINT, wait up to N seconds for open connections
                                (default ${DEFAULT_DRAIN_TIME_S}); a second signal stops at once; also
                                how long a reload lets replaced listeners and clusters drain
      --watch                   reload the config when the -c file changes (as SIGHUP does)
      --file-flush-interval-msec N  access log flush interval (default 1000)
      --dns-map NAME=IP[,NAME=IP...]  resolve NAME to IP for DNS clusters (repeatable; also the
                                ECHOMESH_DNS_MAP environment variable)
  -h, --help                    this text
      --version                 print the version

Accepted and ignored, with a warning each (Envoy hot restart, placement): --base-id N,
--restart-epoch N, --parent-shutdown-time-s N, --disable-hot-restart, --cpuset-threads,
--drain-strategy S, --use-dynamic-base-id.

Exit codes: 0 ok (valid config, clean shutdown), 1 failure (invalid config, cannot bind),
2 usage (a bad flag or value).
`;

/** A bad command line: main prints the message and "Try --help.", exit 2. */
export class UsageError extends EchomeshError {
  readonly code = "ECHOMESH_PROXY_USAGE";
}

export type ParsedCommand = CommandLine<ProxyOptions>;

const IGNORED_STRING = ["base-id", "restart-epoch", "parent-shutdown-time-s", "drain-strategy"] as const;
const IGNORED_BOOLEAN = ["disable-hot-restart", "cpuset-threads", "use-dynamic-base-id"] as const;

/** Parses argv (without `node` and the script). Throws UsageError with a one-line reason. */
export function parseCommandLine(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ParsedCommand {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        "config-path": { type: "string", short: "c" },
        "config-yaml": { type: "string" },
        mode: { type: "string" },
        "service-cluster": { type: "string" },
        "service-node": { type: "string" },
        "service-zone": { type: "string" },
        concurrency: { type: "string" },
        "log-level": { type: "string", short: "l" },
        "log-json": { type: "boolean" },
        "log-format": { type: "string" },
        "log-path": { type: "string" },
        "drain-time-s": { type: "string" },
        "file-flush-interval-msec": { type: "string" },
        "dns-map": { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
        watch: { type: "boolean" },
        version: { type: "boolean" },
        ...Object.fromEntries(IGNORED_STRING.map((k) => [k, { type: "string" as const }])),
        ...Object.fromEntries(IGNORED_BOOLEAN.map((k) => [k, { type: "boolean" as const }])),
      },
    }));
  } catch (err) {
    throw new UsageError(parseArgsMessage(err));
  }
  if (values.help === true) return { kind: "help" };
  if (values.version === true) return { kind: "version" };

  const str = (k: string): string | null => {
    const v = values[k];
    return typeof v === "string" ? v : null;
  };
  const configPath = str("config-path");
  const configYaml = str("config-yaml");
  if (configPath === null && configYaml === null) {
    throw new UsageError("a config is required: -c/--config-path FILE or --config-yaml STRING");
  }
  const mode = str("mode") ?? "serve";
  if (mode !== "serve" && mode !== "validate") {
    throw new UsageError(badValue("--mode", "serve or validate", mode));
  }
  const levelFlag = str("log-level") === null ? "ECHOMESH_LOG_LEVEL" : "--log-level";
  let logLevel = (str("log-level") ?? envValue(env, "ECHOMESH_LOG_LEVEL") ?? "info").toLowerCase();
  if (logLevel === "warning") logLevel = "warn";
  if (!LOG_LEVELS.includes(logLevel as LogLevel)) {
    throw new UsageError(badValue(levelFlag, `one of ${LOG_LEVELS.join(", ")}`, logLevel));
  }
  const ignored: Record<string, string | boolean> = {};
  for (const k of [...IGNORED_STRING, ...IGNORED_BOOLEAN]) {
    const v = values[k];
    if (typeof v === "string" || typeof v === "boolean") ignored[k] = v;
  }
  const dnsMap = new Map<string, string[]>();
  const envMap = envValue(env, "ECHOMESH_DNS_MAP");
  if (envMap !== undefined) addDnsMap(dnsMap, envMap, "ECHOMESH_DNS_MAP");
  const flagMaps = values["dns-map"];
  if (Array.isArray(flagMaps)) for (const m of flagMaps) addDnsMap(dnsMap, m, "--dns-map");

  return {
    kind: "run",
    options: {
      configPath,
      configYaml,
      mode,
      serviceCluster: str("service-cluster"),
      serviceNode: str("service-node"),
      serviceZone: str("service-zone"),
      concurrency: integer("--concurrency", str("concurrency"), 1, 1, 1024),
      logLevel: logLevel as LogLevel,
      logFormat: logFormat(values["log-json"] === true, str("log-format"), env),
      logPath: str("log-path"),
      drainTimeS: integer("--drain-time-s", str("drain-time-s"), DEFAULT_DRAIN_TIME_S, 0, 86_400),
      fileFlushIntervalMs: integer(
        "--file-flush-interval-msec",
        str("file-flush-interval-msec"),
        1000,
        1,
        3_600_000,
      ),
      dnsMap,
      watch: values.watch === true,
      ignored,
    },
  };
}

function integer(flag: string, value: string | null, dflt: number, min: number, max: number): number {
  return value === null ? dflt : wholeNumber(flag, value, min, max, (m) => new UsageError(m));
}

/** `--log-json` (or ECHOMESH_LOG_JSON) or `--log-format`, not both; a pattern's flags are checked. */
function logFormat(json: boolean, pattern: string | null, env: NodeJS.ProcessEnv): LogFormat {
  if (json && pattern !== null) throw new UsageError("--log-json and --log-format: give one of them");
  if (pattern !== null) {
    const problem = logFormatProblem(pattern);
    if (problem !== null) throw new UsageError(problem);
    return { json: false, pattern };
  }
  const fromEnv = envFlag(env, "ECHOMESH_LOG_JSON", [], (m) => new UsageError(m));
  return json || fromEnv === true ? { json: true } : { json: false, pattern: DEFAULT_LOG_FORMAT };
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** `service1=127.0.0.2,service2=127.0.0.3`; a name given twice gets both addresses. */
export function addDnsMap(into: Map<string, string[]>, spec: string, source: string): void {
  for (const item of spec.split(",")) {
    const entry = item.trim();
    if (entry === "") continue;
    const eq = entry.indexOf("=");
    const name = eq === -1 ? "" : entry.slice(0, eq).trim().toLowerCase();
    const ip = eq === -1 ? "" : entry.slice(eq + 1).trim();
    if (name === "" || !isIpLiteral(ip)) {
      throw new UsageError(badValue(source, "NAME=IP[,NAME=IP...]", entry));
    }
    const list = into.get(name) ?? [];
    if (!list.includes(ip)) list.push(ip);
    into.set(name, list);
  }
}

function isIpLiteral(s: string): boolean {
  const m = IPV4.exec(s);
  if (m !== null) return m.slice(1).every((o) => Number(o) <= 255);
  return s.includes(":") && /^[0-9a-fA-F:.]+$/.test(s);
}
