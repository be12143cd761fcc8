/**
 * The command line, Envoy's flags where they mean something here:
 *   echomesh-proxy -c /etc/front-envoy.yaml --service-cluster front-proxy
 * Hot-restart flags (`--base-id`, `--restart-epoch`...) are accepted and ignored so existing Envoy
 * command lines work; any other unknown flag is an error with the usage text.
 */
import { parseArgs } from "node:util";
import { EchomeshError } from "../../lib/errors.js";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "critical" | "off";
export const LOG_LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warn", "error", "critical", "off"];

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
  -l, --log-level LEVEL         trace|debug|info|warn|error|critical|off (default info)
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

Accepted and ignored, with a warning each (Envoy hot restart, placement, log format): --base-id N,
--restart-epoch N, --parent-shutdown-time-s N, --disable-hot-restart, --cpuset-threads,
--log-format FMT, --drain-strategy S, --use-dynamic-base-id.
`;

/** A bad command line: main prints the message and the usage, exit 1. */
export class UsageError extends EchomeshError {
  readonly code = "ECHOMESH_PROXY_USAGE";
}

export type ParsedCommand = { kind: "help" } | { kind: "version" } | { kind: "run"; options: ProxyOptions };

const IGNORED_STRING = [
  "base-id",
  "restart-epoch",
  "parent-shutdown-time-s",
  "log-format",
  "drain-strategy",
] as const;
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
    throw new UsageError((err as Error).message);
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
    throw new UsageError(`--mode: expected serve or validate, got "${mode}"`);
  }
  let logLevel = (str("log-level") ?? "info").toLowerCase();
  if (logLevel === "warning") logLevel = "warn";
  if (!LOG_LEVELS.includes(logLevel as LogLevel)) {
    throw new UsageError(`--log-level: expected one of ${LOG_LEVELS.join("|")}, got "${logLevel}"`);
  }
  const ignored: Record<string, string | boolean> = {};
  for (const k of [...IGNORED_STRING, ...IGNORED_BOOLEAN]) {
    const v = values[k];
    if (typeof v === "string" || typeof v === "boolean") ignored[k] = v;
  }
  const dnsMap = new Map<string, string[]>();
  const envMap = env.ECHOMESH_DNS_MAP;
  if (envMap !== undefined && envMap !== "") addDnsMap(dnsMap, envMap, "ECHOMESH_DNS_MAP");
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
  if (value === null) return dflt;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag}: expected an integer, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${flag}: ${n} is out of range [${min}, ${max}]`);
  return n;
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
      throw new UsageError(`${source}: expected NAME=IP, got "${entry}"`);
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
