/**
 * Every setting of the echo service, its default and its validation: the one place a value is
 * judged, for the programmatic API (`startEcho`) and the command line (config.ts) alike.
 */
import os from "node:os";
import { z } from "zod";
import { EchomeshError } from "../lib/errors.js";

/** HTTPS beside plain HTTP: certificate files (PEM) and the port. */
export interface EchoTlsConfig {
  /** TLS port; 0 picks an ephemeral port. */
  port: number;
  /** The server certificate (chain), PEM file. */
  cert: string;
  /** Its private key, PEM file. */
  key: string;
  /**
   * CA certificates (PEM file) a client certificate must chain to. When set, every client must
   * present a valid certificate: one without, or with one from another CA, is refused.
   */
  clientCa?: string;
}

/** Everything the echo service can be told, validated once at start-up. */
export interface EchoConfig {
  /** TCP port of plain HTTP (HTTP/1.1, h2c, WebSocket); 0 picks an ephemeral port. */
  port: number;
  /** Address to bind (both ports). */
  host: string;
  /** Instance name reported in `x-echo-instance` and the JSON view. */
  instance: string;
  /** Largest accepted request body (POST /echo, anything mode); larger gets 413. */
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
  /** `GET /` and `GET /hello` answer the JSON view unless asked for text (default: zcong's text view). */
  json: boolean;
  /** httpbin habits: any method and path answers the request as JSON, `/status/NNN`, `?delay=`. */
  anything: boolean;
  /** HTTPS (and h2 over TLS) on a second port; absent: plaintext only. */
  tls?: EchoTlsConfig;
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
  json: false,
  anything: false,
  namespace: "",
  pod: "",
  service: "",
  ingress: "",
};

/** The TLS port when HTTPS is asked for without one (as echo-basic and mendhak/http-https-echo). */
export const DEFAULT_TLS_PORT = 8443;

/** Node's timers fire at once past this (2^31 - 1 ms, 24.8 days), so no delay may be longer. */
const MAX_TIMER_MS = 2_147_483_647;

/** What a bad value is told, after the setting's name (`--port must be ...`). */
export const PROBLEM = {
  port: "must be an integer from 0 to 65535",
  empty: "must not be empty",
  instance: "must be printable ASCII without spaces",
  bytes: "must be a whole number of bytes",
  header: "must be at least 1KiB (1024 bytes)",
  wsMessage: "must be at least 1 byte",
  timer: "must be at most 24.8 days (2147483647 ms, Node's timer limit)",
  negative: "must not be negative",
} as const;

const port = z.number().int(PROBLEM.port).min(0, PROBLEM.port).max(65535, PROBLEM.port);
const bytes = z.number().int(PROBLEM.bytes).min(0, PROBLEM.bytes);
const ms = z.number().min(0, PROBLEM.negative).max(MAX_TIMER_MS, PROBLEM.timer);
const file = z.string().min(1, PROBLEM.empty);

const schema = z.object({
  port,
  host: z.string().min(1, PROBLEM.empty),
  instance: z
    .string()
    .min(1, PROBLEM.empty)
    .regex(/^[\x21-\x7e]+$/, PROBLEM.instance),
  maxBodyBytes: bytes,
  maxHeaderBytes: bytes.min(1024, PROBLEM.header),
  maxWsMessageBytes: bytes.min(1, PROBLEM.wsMessage),
  maxResponseBytes: bytes,
  maxDelayMs: ms,
  drainTimeoutMs: ms,
  accessLog: z.boolean(),
  showIp: z.boolean(),
  json: z.boolean(),
  anything: z.boolean(),
  tls: z.object({ port, cert: file, key: file, clientCa: file.optional() }).strict().optional(),
  namespace: z.string(),
  pod: z.string(),
  service: z.string(),
  ingress: z.string(),
});

/**
 * A bad flag, environment variable or value (main prints it with "Try --help.", exit 2). `field` is
 * the config path of the bad setting (`port`, `tls.cert`) when there is one, `problem` what is wrong
 * with it, so the command line can name the flag or variable the value came from.
 */
export class EchoConfigError extends EchomeshError {
  readonly code = "ECHOMESH_ECHO_CONFIG";

  constructor(
    message: string,
    readonly field?: string,
    readonly problem?: string,
  ) {
    super(message);
  }
}

/** Fill defaults and validate; throws EchoConfigError naming the bad field (`port must be ... (got 99999)`). */
export function resolveConfig(partial: Partial<EchoConfig> = {}): EchoConfig {
  const merged = { ...DEFAULTS, instance: os.hostname(), ...dropUndefined(partial) };
  const result = schema.safeParse(merged);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join(".") ?? "";
  const problem = issue?.message ?? "is invalid";
  const got = valueAt(merged, issue?.path ?? []);
  throw new EchoConfigError(`${field} ${problem} (got ${JSON.stringify(got)})`, field, problem);
}

function valueAt(o: unknown, path: ReadonlyArray<string | number>): unknown {
  let v = o;
  for (const key of path) v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[key] : v;
  return v;
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, val] of Object.entries(o)) if (val !== undefined) (out as Record<string, unknown>)[k] = val;
  return out;
}
