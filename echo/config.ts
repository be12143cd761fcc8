/**
 * The echo's command line read: flags and `ECHOMESH_*` environment variables (older names kept as
 * aliases) into an EchoConfig, or `--help` / `--version`. The flags are the rows of flags.ts; values
 * are judged in settings.ts; a bad one is reported with the flag or variable it came from:
 * `--port must be an integer from 0 to 65535 (got 99999)`.
 */
import { parseArgs } from "node:util";
import { envValue } from "../lib/cli.js";
import { ENV_ONLY, FLAGS, type Flag, type Kind, USAGE } from "./flags.js";
import {
  DEFAULT_TLS_PORT,
  type EchoConfig,
  EchoConfigError,
  type EchoTlsConfig,
  PROBLEM,
  resolveConfig,
} from "./settings.js";
import { loadTls } from "./tls.js";
import { parseDuration, parseSize } from "./units.js";

// What this file used to define, for the code that imports it from here.
export { DEFAULTS, type EchoConfig, EchoConfigError, type EchoTlsConfig, resolveConfig } from "./settings.js";

/** Result of reading argv + env: a config to run with, or text to print (help, version). */
export type CliResult =
  | { kind: "run"; config: EchoConfig }
  | { kind: "help"; text: string }
  | { kind: "version" };

/** A value read for a flag, with where it came from (for error messages). */
interface Given {
  value: number | string | boolean;
  /** `--port` or the variable's name. */
  source: string;
  /** The text as given. */
  raw: string;
}

/** Reads flags (argv without node and script) and env. Throws EchoConfigError with a human message. */
export function configFromCli(argv: string[], env: NodeJS.ProcessEnv): CliResult {
  const { values, positionals } = parseFlags(argv);
  if (values.help === true) return { kind: "help", text: USAGE };
  if (values.version === true) return { kind: "version" };
  // The seed's compose file runs `command: echo`: the image's default command name is accepted and ignored.
  const extra = positionals.find((p) => p !== "echo");
  if (extra !== undefined) throw new EchoConfigError(`unexpected argument ${extra}`);

  const given = new Map<string, Given>();
  for (const f of FLAGS) {
    const g = read(f, values, env);
    if (g !== undefined) given.set(f.name, g);
  }
  const num = (name: string) => given.get(name)?.value as number | undefined;
  const str = (name: string) => given.get(name)?.value as string | undefined;
  const bool = (name: string) => given.get(name)?.value as boolean | undefined;
  const partial: Partial<EchoConfig> = {
    port: num("port"),
    host: str("host"),
    instance: str("instance"),
    maxBodyBytes: num("max-body"),
    maxHeaderBytes: num("max-header-size"),
    maxWsMessageBytes: num("max-ws-message"),
    maxResponseBytes: num("max-response-size"),
    maxDelayMs: num("max-delay"),
    drainTimeoutMs: num("drain-timeout"),
    accessLog: bool("access-log"),
    showIp: bool("show-ip"),
    json: bool("json"),
    anything: bool("anything"),
    tls: tlsFrom(given),
  };
  for (const [field, name, alias] of ENV_ONLY) partial[field] = envValue(env, name, [alias]);
  try {
    const config = resolveConfig(partial);
    if (config.tls !== undefined) loadTls(config.tls); // unreadable or mismatched files are usage errors too
    return { kind: "run", config };
  } catch (err) {
    throw err instanceof EchoConfigError ? named(err, given) : err;
  }
}

/** The TLS settings: none unless a certificate and key are given; the other TLS flags need both. */
function tlsFrom(given: Map<string, Given>): EchoTlsConfig | undefined {
  const cert = given.get("tls-cert");
  const key = given.get("tls-key");
  const port = given.get("tls-port");
  const clientCa = given.get("tls-client-ca");
  if (cert === undefined || key === undefined) {
    const first = cert ?? key ?? port ?? clientCa;
    if (first === undefined) return undefined;
    const missing =
      cert !== undefined ? "--tls-key" : key !== undefined ? "--tls-cert" : "--tls-cert and --tls-key";
    throw new EchoConfigError(`${first.source} needs ${missing} (HTTPS is on when both are given)`);
  }
  return {
    port: (port?.value as number | undefined) ?? DEFAULT_TLS_PORT,
    cert: cert.value as string,
    key: key.value as string,
    clientCa: clientCa?.value as string | undefined,
  };
}

/** A settings.ts error for a field, told with the flag or variable its value came from. */
function named(err: EchoConfigError, given: Map<string, Given>): EchoConfigError {
  const f = FLAGS.find((x) => x.field === err.field);
  const g = f === undefined ? undefined : given.get(f.name);
  if (f === undefined || err.problem === undefined) return err;
  return new EchoConfigError(
    `${g?.source ?? `--${f.name}`} ${err.problem} (got ${g?.raw ?? "its default"})`,
    err.field,
    err.problem,
  );
}

type ParsedValues = Record<string, string | boolean | undefined>;

function parseFlags(argv: string[]): { values: ParsedValues; positionals: string[] } {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
    version: { type: "boolean" },
  };
  for (const f of FLAGS) {
    options[f.name] = {
      type: f.kind === "switch" ? "boolean" : "string",
      ...(f.short ? { short: f.short } : {}),
    };
    if (f.kind === "switch") options[`no-${f.name}`] = { type: "boolean" };
  }
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new EchoConfigError(argumentProblem(err as NodeJS.ErrnoException));
  }
}

/** node:util parseArgs's messages, in the words of the rest of the CLI. */
function argumentProblem(err: NodeJS.ErrnoException): string {
  const option = /'(?:-\w, )?(--?[\w-]+)/.exec(err.message)?.[1] ?? "";
  switch (err.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown flag ${option}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return /argument missing/.test(err.message) ? `${option} needs a value` : `${option} takes no value`;
    default:
      return err.message;
  }
}

/** A flag's value (flag first, then its variable, then the aliases), converted; undefined when not given. */
function read(f: Flag, values: ParsedValues, env: NodeJS.ProcessEnv): Given | undefined {
  if (f.kind === "switch") {
    if (values[`no-${f.name}`] === true) return { value: false, source: `--no-${f.name}`, raw: "" };
    if (values[f.name] === true) return { value: true, source: `--${f.name}`, raw: "" };
  } else {
    const text = values[f.name];
    if (typeof text === "string") return convert(f, `--${f.name}`, text);
  }
  const source = [f.env, ...f.aliases].find((name) => envValue(env, name) !== undefined);
  return source === undefined ? undefined : convert(f, source, envValue(env, source) ?? "");
}

const KIND_PROBLEM: Record<Kind, string> = {
  port: PROBLEM.port,
  size: "must be a size such as 1048576, 64k or 10MiB",
  duration: "must be a duration such as 500ms, 5s or 1m",
  switch: "must be on or off (or 1/0, true/false, yes/no)",
  text: PROBLEM.empty,
  file: PROBLEM.empty,
};

function convert(f: Flag, source: string, raw: string): Given {
  const value = parse(f.kind, raw);
  if (value === undefined) throw new EchoConfigError(`${source} ${KIND_PROBLEM[f.kind]} (got ${shown(raw)})`);
  return { value, source, raw: shown(raw) };
}

/** A value as error messages quote it: as is, or in quotes when empty or holding spaces. */
function shown(raw: string): string {
  return /^[\x21-\x7e]+$/.test(raw) ? raw : JSON.stringify(raw);
}

function parse(kind: Kind, raw: string): number | string | boolean | undefined {
  switch (kind) {
    case "port":
      return /^\d{1,5}$/.test(raw) && Number(raw) <= 65535 ? Number(raw) : undefined;
    case "size":
      return parseSize(raw);
    case "duration":
      return parseDuration(raw);
    case "switch": {
      const t = raw.toLowerCase();
      if (["1", "true", "on", "yes"].includes(t)) return true;
      if (["0", "false", "off", "no"].includes(t)) return false;
      return undefined;
    }
    case "text":
    case "file":
      return raw === "" ? undefined : raw;
  }
}
