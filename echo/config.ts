import os from "node:os";
import { parseArgs } from "node:util";
import { z } from "zod";
import { EchomeshError } from "../lib/errors.js";
import { parseDuration, parseSize } from "./units.js";

/** Everything the echo service can be told, validated once at start-up. */
export interface EchoConfig {
  /** TCP port; 0 picks an ephemeral port. */
  port: number;
  /** Address to bind. */
  host: string;
  /** Instance name reported in `x-echo-instance` and the JSON view. */
  instance: string;
  /** Largest accepted request body (POST /echo); larger gets 413. */
  maxBodyBytes: number;
  /** Largest accepted request head (HTTP/1.1) or header list (HTTP/2); larger gets 431. */
  maxHeaderBytes: number;
  /** Largest accepted WebSocket message; larger closes the socket with 1009. */
  maxWsMessageBytes: number;
  /** Largest body `echo_size` may ask for. */
  maxResponseBytes: number;
  /** Longest delay `echo_delay` may ask for. */
  maxDelayMs: number;
  /** On SIGTERM/SIGINT (or `close()`), how long in-flight work may take before connections are cut. */
  drainTimeoutMs: number;
  /** One JSON line per request on stdout. */
  accessLog: boolean;
  /** Append zcong's `ip: <client ip>` line to the text view of `GET /`. */
  showIp: boolean;
  /** Kubernetes-style facts reported by the JSON view (Gateway API echo-basic names). */
  namespace: string;
  pod: string;
  service: string;
  ingress: string;
}

export const DEFAULTS: Readonly<Omit<EchoConfig, "instance">> = {
  port: 8080,
  host: "0.0.0.0",
  maxBodyBytes: 10 * 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxWsMessageBytes: 16 * 1024 * 1024,
  maxResponseBytes: 64 * 1024 * 1024,
  maxDelayMs: 60_000,
  drainTimeoutMs: 5_000,
  accessLog: true,
  showIp: false,
  namespace: "",
  pod: "",
  service: "",
  ingress: "",
};

/** Node's timers fire at once past this (2^31 - 1 ms, 24.8 days), so no delay may be longer. */
const MAX_TIMER_MS = 2_147_483_647;
const TIMER_LIMIT = "at most 24.8 days (2147483647 ms, Node's timer limit)";

const schema = z.object({
  port: z.number().int().min(0).max(65535),
  host: z.string().min(1),
  instance: z
    .string()
    .min(1)
    .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces"),
  maxBodyBytes: z.number().int().min(0),
  maxHeaderBytes: z.number().int().min(1024),
  maxWsMessageBytes: z.number().int().min(1),
  maxResponseBytes: z.number().int().min(0),
  maxDelayMs: z.number().min(0).max(MAX_TIMER_MS, TIMER_LIMIT),
  drainTimeoutMs: z.number().min(0).max(MAX_TIMER_MS, TIMER_LIMIT),
  accessLog: z.boolean(),
  showIp: z.boolean(),
  namespace: z.string(),
  pod: z.string(),
  service: z.string(),
  ingress: z.string(),
});

/** A bad flag, environment variable or value: main prints it with "Try --help.", exit 2. */
export class EchoConfigError extends EchomeshError {
  readonly code = "ECHOMESH_ECHO_CONFIG";
}

/** Fill defaults and validate; throws EchoConfigError naming the bad field. */
export function resolveConfig(partial: Partial<EchoConfig> = {}): EchoConfig {
  const merged = { ...DEFAULTS, instance: os.hostname(), ...dropUndefined(partial) };
  const result = schema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new EchoConfigError(`invalid ${issue?.path.join(".")}: ${issue?.message}`);
  }
  return result.data;
}

export const USAGE = `Usage: echomesh-echo [echo] [options]

Options (each also has an env var; flags win):
  -p, --port <n>              listen port (PORT, default 8080)
      --host <addr>           bind address (HOST, default 0.0.0.0)
      --instance <name>       instance name (INSTANCE, default the hostname)
      --max-body <size>       request body limit (MAX_BODY_SIZE, default 10MiB)
      --max-header-size <size> request header limit (MAX_HEADER_SIZE, default 16KiB)
      --max-ws-message <size> WebSocket message limit (MAX_WS_MESSAGE_SIZE, default 16MiB)
      --max-response-size <size> largest echo_size (MAX_RESPONSE_SIZE, default 64MiB)
      --max-delay <duration>  largest echo_delay (MAX_DELAY, default 60s)
      --drain-timeout <duration> graceful shutdown limit (DRAIN_TIMEOUT, default 5s)
      --access-log / --no-access-log  JSON access log on stdout (ACCESS_LOG=on|off, default on)
      --show-ip               add zcong's "ip:" line to GET / (ECHO_SHOW_IP=1, default off)
  -h, --help                  show this help
`;

/** Result of reading argv + env: either a config to run with, or help text to print. */
export type CliResult = { kind: "run"; config: EchoConfig } | { kind: "help"; text: string };

/** Reads flags (argv without node and script) and env. Throws EchoConfigError on bad input. */
export function configFromCli(argv: string[], env: NodeJS.ProcessEnv): CliResult {
  let parsed: ReturnType<typeof parseCliArgs>;
  try {
    parsed = parseCliArgs(argv);
  } catch (err) {
    throw new EchoConfigError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) return { kind: "help", text: USAGE };
  // The seed's compose file runs `command: echo`: the image's default command name is accepted and ignored.
  const extra = positionals.filter((p) => p !== "echo");
  if (extra.length > 0) throw new EchoConfigError(`unexpected argument: ${extra[0]}`);

  const partial: Partial<EchoConfig> = {
    port: int("port", v.port ?? env.PORT),
    host: v.host ?? nonEmpty(env.HOST),
    instance: v.instance ?? nonEmpty(env.INSTANCE),
    maxBodyBytes: size("max-body", v["max-body"] ?? env.MAX_BODY_SIZE),
    maxHeaderBytes: size("max-header-size", v["max-header-size"] ?? env.MAX_HEADER_SIZE),
    maxWsMessageBytes: size("max-ws-message", v["max-ws-message"] ?? env.MAX_WS_MESSAGE_SIZE),
    maxResponseBytes: size("max-response-size", v["max-response-size"] ?? env.MAX_RESPONSE_SIZE),
    maxDelayMs: duration("max-delay", v["max-delay"] ?? env.MAX_DELAY),
    drainTimeoutMs: duration("drain-timeout", v["drain-timeout"] ?? env.DRAIN_TIMEOUT),
    accessLog: v["no-access-log"] ? false : v["access-log"] ? true : bool("ACCESS_LOG", env.ACCESS_LOG),
    showIp: v["show-ip"] ? true : bool("ECHO_SHOW_IP", env.ECHO_SHOW_IP),
    namespace: env.NAMESPACE,
    pod: env.POD_NAME,
    service: env.SERVICE_NAME,
    ingress: env.INGRESS_NAME,
  };
  return { kind: "run", config: resolveConfig(partial) };
}

function parseCliArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      port: { type: "string", short: "p" },
      host: { type: "string" },
      instance: { type: "string" },
      "max-body": { type: "string" },
      "max-header-size": { type: "string" },
      "max-ws-message": { type: "string" },
      "max-response-size": { type: "string" },
      "max-delay": { type: "string" },
      "drain-timeout": { type: "string" },
      "access-log": { type: "boolean" },
      "no-access-log": { type: "boolean" },
      "show-ip": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === "" ? undefined : s;
}

function int(name: string, s: string | undefined): number | undefined {
  if (nonEmpty(s) === undefined) return undefined;
  if (!/^\d+$/.test(s ?? "")) throw new EchoConfigError(`invalid ${name}: ${s}`);
  return Number(s);
}

function size(name: string, s: string | undefined): number | undefined {
  if (nonEmpty(s) === undefined) return undefined;
  const n = parseSize(s ?? "");
  if (n === undefined) throw new EchoConfigError(`invalid ${name}: ${s} (examples: 1048576, 64k, 10MiB)`);
  return n;
}

function duration(name: string, s: string | undefined): number | undefined {
  if (nonEmpty(s) === undefined) return undefined;
  const n = parseDuration(s ?? "");
  if (n === undefined) throw new EchoConfigError(`invalid ${name}: ${s} (examples: 500ms, 5s, 1m)`);
  return n;
}

function bool(name: string, s: string | undefined): boolean | undefined {
  if (nonEmpty(s) === undefined) return undefined;
  const t = (s ?? "").toLowerCase();
  if (["1", "true", "on", "yes"].includes(t)) return true;
  if (["0", "false", "off", "no"].includes(t)) return false;
  throw new EchoConfigError(`invalid ${name}: ${s} (use on or off)`);
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, val] of Object.entries(o)) if (val !== undefined) (out as Record<string, unknown>)[k] = val;
  return out;
}
