/**
 * What the echo's command line accepts: every flag as one row (name, kind of value, `ECHOMESH_*`
 * variable and older aliases, the setting it feeds, help), the variables read without a flag, and the
 * `--help` text made from them. config.ts reads them.
 */
import { DEFAULT_TLS_PORT } from "./settings.js";

/** How a flag's text becomes a value. */
export type Kind = "port" | "size" | "duration" | "switch" | "text" | "file";

/** One flag: its names, its environment variable and aliases, and the setting it feeds. */
export interface Flag {
  /** `--name`. */
  readonly name: string;
  readonly short?: string;
  readonly kind: Kind;
  /** The `ECHOMESH_*` variable. */
  readonly env: string;
  /** Older variable names, read when `env` is unset. */
  readonly aliases: readonly string[];
  /** Config path of the setting (`port`, `tls.cert`): errors from settings.ts name the flag by it. */
  readonly field: string;
  /** One line of help, with the default. */
  readonly help: string;
}

type Row = Omit<Flag, "env" | "aliases"> & { aliases?: readonly string[] };

/** The flag of a row: its variable is `ECHOMESH_` and the name in capitals (`--max-body` -> ECHOMESH_MAX_BODY). */
const flag = (row: Row): Flag => ({
  ...row,
  aliases: row.aliases ?? [],
  env: `ECHOMESH_${row.name.toUpperCase().replace(/-/g, "_")}`,
});

/** Every flag, in help order. A switch also has `--no-<name>`. */
const ROWS: readonly Row[] = [
  {
    name: "port",
    short: "p",
    kind: "port",
    field: "port",
    aliases: ["PORT"],
    help: "plain HTTP port (HTTP/1.1, h2c, WebSocket), 0 = any (default 8080)",
  },
  {
    name: "host",
    kind: "text",
    field: "host",
    aliases: ["HOST"],
    help: "bind address of both ports (default 0.0.0.0)",
  },
  {
    name: "instance",
    kind: "text",
    field: "instance",
    aliases: ["INSTANCE"],
    help: "name in x-echo-instance and the JSON view (default the hostname)",
  },
  {
    name: "max-body",
    kind: "size",
    field: "maxBodyBytes",
    aliases: ["MAX_BODY_SIZE"],
    help: "request body limit, 413 past it (default 10MiB)",
  },
  {
    name: "max-header-size",
    kind: "size",
    field: "maxHeaderBytes",
    aliases: ["MAX_HEADER_SIZE"],
    help: "request head limit, 431 past it (default 16KiB)",
  },
  {
    name: "max-ws-message",
    kind: "size",
    field: "maxWsMessageBytes",
    aliases: ["MAX_WS_MESSAGE_SIZE"],
    help: "WebSocket message limit, close 1009 (default 16MiB)",
  },
  {
    name: "max-response-size",
    kind: "size",
    field: "maxResponseBytes",
    aliases: ["MAX_RESPONSE_SIZE"],
    help: "largest echo_size (default 64MiB)",
  },
  {
    name: "max-delay",
    kind: "duration",
    field: "maxDelayMs",
    aliases: ["MAX_DELAY"],
    help: "largest echo_delay (default 60s)",
  },
  {
    name: "drain-timeout",
    kind: "duration",
    field: "drainTimeoutMs",
    aliases: ["DRAIN_TIMEOUT"],
    help: "graceful shutdown limit (default 5s)",
  },
  {
    name: "access-log",
    kind: "switch",
    field: "accessLog",
    aliases: ["ACCESS_LOG"],
    help: "JSON access log on stdout (default on)",
  },
  {
    name: "show-ip",
    kind: "switch",
    field: "showIp",
    aliases: ["ECHO_SHOW_IP"],
    help: 'zcong\'s "ip:" line in the text view (default off)',
  },
  {
    name: "json",
    kind: "switch",
    field: "json",
    help: "GET / and /hello answer the JSON view (default off: text)",
  },
  {
    name: "anything",
    kind: "switch",
    field: "anything",
    help: "httpbin mode: any path answers JSON, /status/NNN, ?delay= (default off)",
  },
  {
    name: "tls-port",
    kind: "port",
    field: "tls.port",
    help: `HTTPS port (HTTP/1.1 and h2 by ALPN), 0 = any (default ${DEFAULT_TLS_PORT})`,
  },
  {
    name: "tls-cert",
    kind: "file",
    field: "tls.cert",
    help: "server certificate, PEM file (HTTPS is on when given with --tls-key)",
  },
  { name: "tls-key", kind: "file", field: "tls.key", help: "its private key, PEM file" },
  {
    name: "tls-client-ca",
    kind: "file",
    field: "tls.clientCa",
    help: "CA file: clients must present a certificate it issued",
  },
];
export const FLAGS: readonly Flag[] = ROWS.map(flag);

/** Read from the environment only (the JSON view's Kubernetes facts, echo-basic's names as aliases). */
export const ENV_ONLY = [
  ["namespace", "ECHOMESH_NAMESPACE", "NAMESPACE"],
  ["pod", "ECHOMESH_POD_NAME", "POD_NAME"],
  ["service", "ECHOMESH_SERVICE_NAME", "SERVICE_NAME"],
  ["ingress", "ECHOMESH_INGRESS_NAME", "INGRESS_NAME"],
] as const;

const PLACEHOLDER: Record<Kind, string> = {
  port: " <n>",
  size: " <size>",
  duration: " <duration>",
  switch: "",
  text: " <text>",
  file: " <file>",
};

/** The `--help` text: every flag with its variable and aliases. */
export const USAGE = usage();

function usage(): string {
  const rows = FLAGS.map((f) => {
    const names = `${f.short ? `-${f.short}, ` : "    "}--${f.kind === "switch" ? `[no-]${f.name}` : f.name}`;
    return `  ${(names + PLACEHOLDER[f.kind]).padEnd(32)} ${f.help}\n${" ".repeat(35)}${envLine(f.env, f.aliases)}\n`;
  });
  const envOnly = ENV_ONLY.map(([, env, alias]) => `  ${env.padEnd(32)} ${envLine("", [alias])}\n`);
  return (
    "Usage: echomesh-echo [echo] [options]\n\n" +
    "An HTTP echo service for testing proxies (a drop-in zcong/echo). See echo/README.md.\n\n" +
    "Options (a flag wins over its environment variable, which wins over the variable's aliases):\n" +
    rows.join("") +
    "  -h, --help                       this help\n" +
    "      --version                    the version\n\n" +
    "Environment only (reported by the JSON view):\n" +
    envOnly.join("") +
    "\nSizes: 1048576, 64k, 10MiB, 1mb. Durations: 500 (ms), 500ms, 5s, 1m.\n" +
    "Switches in the environment: on/off, 1/0, true/false, yes/no.\n" +
    "Exit codes: 0 stopped cleanly, 1 failure (e.g. the port is taken), 2 bad flag or value.\n"
  );
}

/** `env ECHOMESH_PORT (alias PORT)`. */
export function envLine(env: string, aliases: readonly string[]): string {
  const alias = aliases.length === 0 ? "" : `(alias ${aliases.join(", ")})`;
  return env === "" ? alias : `env ${env}${alias === "" ? "" : ` ${alias}`}`;
}
