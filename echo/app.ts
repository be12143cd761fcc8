import type { IncomingMessage, ServerResponse } from "node:http";
import { type Controls, delay, NO_CONTROLS, parseControls, resetExchange } from "./controls.js";
import {
  type EchoRequest,
  type EchoResponse,
  type Exchange,
  newExchange,
  notFound,
  send,
  statusText,
} from "./exchange.js";
import type { AccessRecord } from "./log.js";
import { ADMIN_PREFIX, fail, health, metrics } from "./routes/admin.js";
import { anything, status, statusPath } from "./routes/anything.js";
import { echo } from "./routes/echo.js";
import { hello } from "./routes/hello.js";
import { type EchoContext, takeFailure } from "./state.js";

export type RequestHandler = (req: EchoRequest, res: EchoResponse) => void;

/** zcong (gin-contrib/cors `Default()`) preflight answer, plus the requested headers so browsers may send controls. */
const PREFLIGHT_METHODS = "GET,POST,PUT,HEAD";
const PREFLIGHT_HEADERS = "Origin,Content-Length,Content-Type";

/** The request handler shared by the HTTP/1.1 and HTTP/2 servers. */
export function createHandler(ctx: EchoContext): RequestHandler {
  return (req, res) => {
    const x = newExchange(ctx, req, res);
    account(x);
    if (req.httpVersionMajor === 2 && headerListSize(req.rawHeaders) > ctx.config.maxHeaderBytes) {
      x.route = "bad_request";
      send(x, 431, "431 Request Header Fields Too Large\n");
      return;
    }
    route(x);
  };
}

/**
 * HTTP/2 header list size as SETTINGS_MAX_HEADER_LIST_SIZE counts it (RFC 9113 §6.5.2: name + value
 * + 32 per field). Node advertises the setting but does not enforce it on what it receives.
 */
function headerListSize(raw: string[]): number {
  let total = 0;
  for (let i = 0; i < raw.length; i += 2) total += (raw[i]?.length ?? 0) + (raw[i + 1]?.length ?? 0) + 32;
  return total;
}

function route(x: Exchange): void {
  const { path } = x;
  const method = x.req.method;
  const get = method === "GET" || method === "HEAD";

  if (path.startsWith(ADMIN_PREFIX)) {
    if (path === "/_echo/health" && (get || method === "POST")) {
      x.route = "/_echo/health";
      health(x);
    } else if (path === "/_echo/fail" && (get || method === "POST")) {
      x.route = "/_echo/fail";
      fail(x);
    } else if (path === "/_echo/metrics" && get) {
      x.route = "/metrics";
      metrics(x);
    } else {
      notFound(x);
    }
    return;
  }
  if (method === "OPTIONS" && x.req.headers.origin !== undefined) {
    x.route = "preflight";
    preflight(x);
    return;
  }
  if (get && path === "/ws") {
    // A WebSocket handshake never gets here (see ws.ts); a plain GET gets gorilla's answer.
    x.route = "/ws";
    send(x, 400, "Bad Request\n", "text/plain; charset=utf-8", { "sec-websocket-version": "13" });
  } else if (get && path === "/metrics") {
    x.route = "/metrics";
    metrics(x);
  } else if (x.ctx.config.anything) {
    httpbin(x);
  } else if (get && (path === "/" || path === "/hello")) {
    x.route = path;
    controlled(x, hello);
  } else if (method === "POST" && path === "/echo") {
    x.route = "/echo";
    controlled(x, echo);
  } else if (redirectTarget(path, method) !== undefined) {
    x.route = "redirect";
    redirect(x, redirectTarget(path, method) ?? "/");
  } else {
    controlled(x, (ex, c) => notFound(ex, c.status ?? 404));
  }
}

/** `--anything`: `/status/NNN`, and every other path answers the request as JSON. */
function httpbin(x: Exchange): void {
  const code = statusPath(x.path);
  if (code === undefined) {
    x.route = "anything";
    controlled(x, anything);
  } else {
    x.route = "/status";
    controlled(x, (ex, c) => status(ex, c, code));
  }
}

/**
 * Runs a route under the request controls: runtime "fail next N" first, then control parsing (400
 * on bad values), delay, reset, and finally the route with the remaining controls.
 */
function controlled(x: Exchange, run: (x: Exchange, c: Readonly<Controls>) => void): void {
  const failure = takeFailure(x.ctx);
  if (failure !== undefined) {
    if (failure === "reset") resetExchange(x);
    else send(x, failure, `injected failure: ${failure} ${statusText(failure)}\n`);
    return;
  }
  const c = parseControls(x, x.ctx.config);
  if (typeof c === "string") {
    send(x, 400, c + "\n");
    return;
  }
  if (c === NO_CONTROLS) {
    run(x, c);
    return;
  }
  delay(x, c.delayMs ?? 0, () => {
    if (c.reset) resetExchange(x);
    else run(x, c);
  });
}

function preflight(x: Exchange): void {
  const requested = x.req.headers["access-control-request-headers"];
  send(x, 200, "", "text/plain; charset=utf-8", {
    "access-control-allow-methods": PREFLIGHT_METHODS,
    "access-control-allow-headers":
      typeof requested === "string" && requested !== "" ? requested : PREFLIGHT_HEADERS,
    "access-control-max-age": "43200",
  });
}

/** gin's RedirectTrailingSlash: `/hello/` -> `/hello` when that route exists for the method. */
function redirectTarget(path: string, method: string | undefined): string | undefined {
  if (path.length < 2 || !path.endsWith("/")) return undefined;
  const bare = path.slice(0, -1);
  if ((method === "GET" || method === "HEAD") && (bare === "/hello" || bare === "/ws")) return bare;
  if (method === "POST" && bare === "/echo") return bare;
  return undefined;
}

function redirect(x: Exchange, to: string): void {
  const location = x.query === "" ? to : `${to}?${x.query}`;
  const status = x.req.method === "GET" || x.req.method === "HEAD" ? 301 : 307;
  send(x, status, `<a href="${location}">${statusText(status)}</a>.\n\n`, "text/html; charset=utf-8", {
    location,
  });
}

/** Where a response finds its exchange when it closes (one shared listener, no per-request closure). */
const EXCHANGE = Symbol("echo.exchange");
type Accounted = EchoResponse & { [EXCHANGE]?: Exchange };

/** Metrics always; the access log only when on. One shared `close` listener per request. */
function account(x: Exchange): void {
  const res = x.res as Accounted;
  res[EXCHANGE] = x;
  (res as ServerResponse<IncomingMessage>).on("close", onClose);
}

function onClose(this: Accounted): void {
  const x = this[EXCHANGE];
  if (x === undefined) return;
  // Neither finished nor reset: the client went away first; nothing was answered.
  if (!x.reset && !x.res.writableFinished) return;
  const { ctx } = x;
  const status = x.reset ? "reset" : x.res.statusCode;
  ctx.metrics.request(x.route, status, x.proto);
  if (!ctx.config.accessLog) return;
  const record: AccessRecord = {
    method: x.req.method ?? "",
    path: x.url,
    proto: x.proto,
    status,
    route: x.route,
    ms: Math.round((performance.now() - x.start) * 1000) / 1000,
    remote: x.remote,
    ua: x.req.headers["user-agent"],
  };
  ctx.logger.info(record, "request");
}
