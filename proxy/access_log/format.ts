/**
 * Envoy access log format strings (`%START_TIME%`, `%REQ(X?Y):Z%`, `%RESPONSE_CODE%`...), compiled
 * once into a function of an AccessLogEntry. Unset values print `-`, like Envoy. An unknown command
 * or a stray `%` is a FormatError (Envoy rejects the config the same way).
 */
import { hostname } from "node:os";
import { EchomeshError } from "../../lib/errors.js";
import type { AccessLogEntry } from "./entry.js";

/** Envoy's default format (no `format` configured); it ends with a newline. */
export const DEFAULT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ' +
  "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% " +
  '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ' +
  '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

export type AccessLogFormatter = (entry: AccessLogEntry) => string;

export class FormatError extends EchomeshError {
  readonly code = "ECHOMESH_PROXY_ACCESS_LOG_FORMAT";
}

type Part = string | AccessLogFormatter;

const COMMAND = /%([A-Z0-9_]+)(?:\((.*?)\))?(?::(\d+))?%/y;

/** Compiles `format` (null = DEFAULT_FORMAT). Throws FormatError naming the bad command. */
export function compileFormat(format: string | null): AccessLogFormatter {
  const source = format ?? DEFAULT_FORMAT;
  const parts: Part[] = [];
  let literal = "";
  let i = 0;
  while (i < source.length) {
    const pct = source.indexOf("%", i);
    if (pct === -1) {
      literal += source.slice(i);
      break;
    }
    literal += source.slice(i, pct);
    COMMAND.lastIndex = pct;
    const m = COMMAND.exec(source);
    if (m === null) {
      throw new FormatError(
        `access log format: no valid command at position ${pct} of ${JSON.stringify(source)}`,
      );
    }
    if (literal !== "") parts.push(literal);
    literal = "";
    const [, name = "", arg, maxLen] = m;
    parts.push(compileCommand(name, arg, maxLen === undefined ? undefined : Number(maxLen)));
    i = COMMAND.lastIndex;
  }
  if (literal !== "") parts.push(literal);
  return (entry) => {
    let out = "";
    for (const p of parts) out += typeof p === "string" ? p : p(entry);
    return out;
  };
}

type Getter = (e: AccessLogEntry) => string | number | null | undefined;

function compileCommand(
  name: string,
  arg: string | undefined,
  maxLen: number | undefined,
): AccessLogFormatter {
  const getter = commandGetter(name, arg);
  return (e) => {
    const v = getter(e);
    if (v === null || v === undefined || v === "") return "-";
    const s = typeof v === "number" ? String(v) : v;
    return maxLen !== undefined && s.length > maxLen ? s.slice(0, maxLen) : s;
  };
}

function needArg(name: string, arg: string | undefined): string {
  if (arg === undefined || arg === "")
    throw new FormatError(`access log format: %${name}% needs an argument`);
  return arg;
}

function noArg(name: string, arg: string | undefined): void {
  if (arg !== undefined) throw new FormatError(`access log format: %${name}% takes no argument`);
}

const HOSTNAME = hostname();

function commandGetter(name: string, arg: string | undefined): Getter {
  switch (name) {
    case "START_TIME":
      return startTimeGetter(arg);
    case "REQ":
      return headerGetter(name, needArg(name, arg), requestHeader);
    case "RESP":
      return headerGetter(name, needArg(name, arg), (e, h) =>
        h === ":status" ? (e.responseCode === 0 ? null : String(e.responseCode)) : find(e.responseHeaders, h),
      );
    case "TRAILER":
      return headerGetter(name, needArg(name, arg), (e, h) => find(e.responseTrailers, h));
  }
  noArg(name, arg);
  switch (name) {
    case "PROTOCOL":
      return (e) => e.protocol;
    case "RESPONSE_CODE":
      return (e) => e.responseCode;
    case "RESPONSE_CODE_DETAILS":
      return (e) => e.responseCodeDetails;
    case "RESPONSE_FLAGS":
      return (e) => (e.responseFlags.length === 0 ? null : e.responseFlags.join(","));
    case "BYTES_RECEIVED":
      return (e) => e.bytesReceived;
    case "BYTES_SENT":
      return (e) => e.bytesSent;
    case "DURATION":
      return (e) => Math.floor(e.durationMs);
    case "UPSTREAM_HOST":
      return (e) => e.upstreamHost;
    case "UPSTREAM_CLUSTER":
      return (e) => e.upstreamCluster;
    case "ROUTE_NAME":
      return (e) => e.routeName;
    case "DOWNSTREAM_REMOTE_ADDRESS":
    case "DOWNSTREAM_DIRECT_REMOTE_ADDRESS":
      return (e) => e.downstreamRemoteAddress;
    case "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT":
    case "DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT":
      return (e) => withoutPort(e.downstreamRemoteAddress);
    case "DOWNSTREAM_LOCAL_ADDRESS":
      return (e) => e.downstreamLocalAddress;
    case "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT":
      return (e) => withoutPort(e.downstreamLocalAddress);
    case "HOSTNAME":
      return () => HOSTNAME;
    case "REQUESTED_SERVER_NAME":
    case "UPSTREAM_TRANSPORT_FAILURE_REASON":
      return () => null;
  }
  throw new FormatError(`access log format: unsupported command %${name}%`);
}

function headerGetter(
  name: string,
  arg: string,
  lookup: (e: AccessLogEntry, lowerName: string) => string | null,
): Getter {
  const [main = "", alt, extra] = arg.toLowerCase().split("?");
  if (main === "" || alt === "" || extra !== undefined) {
    throw new FormatError(`access log format: bad header spec %${name}(${arg})%`);
  }
  if (alt === undefined) return (e) => lookup(e, main);
  return (e) => lookup(e, main) ?? lookup(e, alt);
}

function requestHeader(e: AccessLogEntry, h: string): string | null {
  switch (h) {
    case ":method":
      return e.method;
    case ":path":
      return e.path;
    case ":authority":
    case "host":
      return e.authority === "" ? null : e.authority;
    case ":scheme":
      return e.scheme;
    default:
      return find(e.requestHeaders, h);
  }
}

/** Case-insensitive lookup in raw headers; repeated headers are joined with ",". */
function find(raw: readonly string[] | null, lowerName: string): string | null {
  if (raw === null) return null;
  let out: string | null = null;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i] as string;
    if (k.length === lowerName.length && k.toLowerCase() === lowerName) {
      const v = raw[i + 1] as string;
      out = out === null ? v : `${out},${v}`;
    }
  }
  return out;
}

function withoutPort(addr: string | null): string | null {
  if (addr === null) return null;
  if (addr.startsWith("[")) return addr.slice(1, addr.indexOf("]"));
  const colon = addr.lastIndexOf(":");
  return colon === -1 ? addr : addr.slice(0, colon);
}

/** `%START_TIME%` is ISO 8601 UTC with milliseconds; `%START_TIME(<strftime>)%` a strftime subset (UTC). */
function startTimeGetter(arg: string | undefined): Getter {
  if (arg === undefined || arg === "") return (e) => new Date(e.startTime).toISOString();
  const parts: Array<string | ((d: Date, ms: number) => string)> = [];
  let i = 0;
  let literal = "";
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  while (i < arg.length) {
    const c = arg[i] as string;
    if (c !== "%" || i + 1 >= arg.length) {
      literal += c;
      i++;
      continue;
    }
    let spec = arg[i + 1] as string;
    let digits = 9;
    let len = 2;
    if (/[1-9]/.test(spec) && arg[i + 2] === "f") {
      digits = Number(spec);
      spec = "f";
      len = 3;
    }
    const fn = strftime(spec, digits, pad);
    if (fn === null) {
      literal += arg.slice(i, i + len);
    } else {
      if (literal !== "") parts.push(literal);
      literal = "";
      parts.push(fn);
    }
    i += len;
  }
  if (literal !== "") parts.push(literal);
  return (e) => {
    const d = new Date(e.startTime);
    let out = "";
    for (const p of parts) out += typeof p === "string" ? p : p(d, e.startTime);
    return out;
  };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

function strftime(
  spec: string,
  digits: number,
  pad: (n: number, w?: number) => string,
): ((d: Date, ms: number) => string) | null {
  switch (spec) {
    case "Y":
      return (d) => String(d.getUTCFullYear());
    case "y":
      return (d) => pad(d.getUTCFullYear() % 100);
    case "m":
      return (d) => pad(d.getUTCMonth() + 1);
    case "d":
      return (d) => pad(d.getUTCDate());
    case "e":
      return (d) => String(d.getUTCDate()).padStart(2, " ");
    case "H":
      return (d) => pad(d.getUTCHours());
    case "M":
      return (d) => pad(d.getUTCMinutes());
    case "S":
      return (d) => pad(d.getUTCSeconds());
    case "s":
      return (_d, ms) => String(Math.floor(ms / 1000));
    case "f":
      return (_d, ms) =>
        pad(((ms % 1000) + 1000) % 1000, 3)
          .padEnd(9, "0")
          .slice(0, digits);
    case "z":
      return () => "+0000";
    case "Z":
      return () => "UTC";
    case "b":
      return (d) => MONTHS[d.getUTCMonth()] ?? "";
    case "a":
      return (d) => DAYS[d.getUTCDay()] ?? "";
    case "T":
      return (d) => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    case "F":
      return (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    case "%":
      return () => "%";
    default:
      return null;
  }
}
