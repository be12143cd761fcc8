/**
 * The echo's HTTP/1.1 front: every HTTP/1.1 connection is read by the shared codec
 * (lib/http1/server_connection.ts). The two requests load tests send by the million, `GET /` (or
 * `/hello`) and `POST /echo` without controls, are answered here on the socket, byte for byte as
 * node:http answers them (its `Date` and `Connection: keep-alive`). Any other request, and every
 * request after it on its connection, is handed to node:http (`handOver`), which serves every route,
 * control, 100-continue, upgrade, HTTP/1.0 and draining answer as before, and every head our strict
 * grammar refuses (node:http's 400 or 431, or its lenient answer): the fast path has nothing to get
 * wrong but the answers it gives.
 */
import type { Socket } from "node:net";
import type { H1ActiveStream, H1Connection, H1Handler, RequestHead } from "../lib/http1/server_connection.js";
import { H1Server } from "../lib/http1/server_connection.js";
import { answerClientError } from "./client_error.js";
import { headerSafe } from "./exchange.js";
import type { AccessRecord } from "./log.js";
import type { RouteLabel } from "./metrics.js";
import { helloText, peerAddress } from "./routes/hello.js";
import type { EchoContext } from "./state.js";

/** Where a connection goes when the fast path does not serve its request: `bytes` are to be read first. */
export type HandOver = (socket: Socket, bytes: Buffer) => void;

/** node:http's default `headersTimeout`: a head must be complete this long after its first byte (408). */
const HEADERS_TIMEOUT_MS = 60_000;

/** The serving of a request that is answered at once: nothing to hear from the connection. */
const ANSWERED: H1ActiveStream = {
  requestTrailers: null,
  socketClosed(): void {},
  bodyError(): void {},
};

/** The HTTP/1.1 front of one echo: hand it sockets with `server.emit("connection", socket)`. */
export function createFastHttp1(ctx: EchoContext, handOver: HandOver, upgrade: HandOver): H1Server {
  // `--json` and `--anything` change the answers to GET / and POST /echo: node:http gives them.
  const getFast = !ctx.config.json && !ctx.config.anything;
  const echoFast = !ctx.config.anything;
  const handler: H1Handler = {
    onRequest(conn, head) {
      if (getFast && fastGet(ctx, head)) answerHello(ctx, conn, head);
      else if (echoFast && fastEcho(ctx, head)) new EchoBack(ctx, conn, head).start();
      else handOver(conn.socket, conn.detach(true));
    },
    onUpgrade(conn, head, rest) {
      upgrade(conn.socket, headBytes(head, rest));
    },
    onCodecError(socket, error, read) {
      if (error === "header_timeout" || error === "request_timeout" || error === "stream_idle_timeout") {
        answerClientError(ctx, socket, 408);
        return;
      }
      // node:http judges what our strict grammar refuses (it takes `GET  /` or `HTTP/2.0` requests,
      // counts its header limit its own way): its answer, whichever it is, stays the echo's.
      socket.pause();
      handOver(socket, read);
    },
    onIdleTimeout() {},
  };
  return new H1Server(handler, {
    maxHeadBytes: ctx.config.maxHeaderBytes,
    // node:http keeps (and drops past 2000) what the byte limit lets through: no count of ours.
    maxHeadersCount: Number.MAX_SAFE_INTEGER,
    // Like zcong and the node:http side: idle keep-alive connections are never closed.
    idleTimeoutMs: 0,
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
    streamIdleTimeoutMs: 0,
    requestTimeoutMs: 0,
  });
}

/** What the fast path may answer: keep-alive HTTP/1.1, nothing that changes the answer. */
function plain(ctx: EchoContext, head: RequestHead): boolean {
  // One Host (node:http answers 400 without one), keep-alive HTTP/1.1.
  if (typeof head.host !== "string" || head.http10 || !head.keepAlive || head.expectContinue) return false;
  if (ctx.draining || ctx.fail.remaining > 0) return false;
  const raw = head.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    // Controls (`x-echo-*`), CORS (`origin`), the JSON view (`accept`): node:http's path.
    const c = name.charCodeAt(0) | 0x20;
    if ((c === 0x78 || c === 0x6f || c === 0x61) && slowHeader(name, raw[i + 1] as string)) return false;
  }
  return true;
}

function slowHeader(name: string, value: string): boolean {
  const lower = name.toLowerCase();
  if (lower === "origin") return true;
  if (lower === "accept") return value.includes("application/json");
  return lower.startsWith("x-echo-");
}

function fastGet(ctx: EchoContext, head: RequestHead): boolean {
  return (
    head.method === "GET" &&
    (head.target === "/" || head.target === "/hello") &&
    head.framing === "none" &&
    plain(ctx, head)
  );
}

function fastEcho(ctx: EchoContext, head: RequestHead): boolean {
  return (
    head.method === "POST" &&
    head.target === "/echo" &&
    head.framing === "length" &&
    head.contentLength <= ctx.config.maxBodyBytes &&
    plain(ctx, head)
  );
}

/** The head node:http writes for `writeHead(200, {identity, content-type, content-length})`. */
function responseHead(ctx: EchoContext, path: string, contentType: string, length: number): string {
  return (
    "HTTP/1.1 200 OK\r\n" +
    `x-echo-instance: ${ctx.config.instance}\r\n` +
    "x-echo-protocol: HTTP/1.1\r\n" +
    `x-echo-path: ${headerSafe(path)}\r\n` +
    `content-type: ${contentType}\r\n` +
    `content-length: ${length}\r\n` +
    `Date: ${httpDate()}\r\nConnection: keep-alive\r\n\r\n`
  );
}

function answerHello(ctx: EchoContext, conn: H1Connection, head: RequestHead): void {
  const socket = conn.socket;
  const start = ctx.config.accessLog ? performance.now() : 0;
  const body = helloText(head.rawHeaders, ctx.config.showIp ? peerAddress(socket.remoteAddress) : undefined);
  const length = Buffer.byteLength(body);
  const text = responseHead(ctx, head.target, "text/plain; charset=utf-8", length);
  conn.begin(ANSWERED);
  // node:http writes the head latin1 and the body UTF-8: one write when they agree (ASCII).
  if (length === body.length) socket.write(text + body, "latin1");
  else {
    socket.cork();
    socket.write(text, "latin1");
    socket.write(body, "utf8");
    socket.uncork();
  }
  const route: RouteLabel = head.target === "/" ? "/" : "/hello";
  done(ctx, head, socket, route, start);
  conn.streamDone(ANSWERED, false);
}

/** Counts a fast answer (and logs it, when the access log is on), as app.ts does on 'close'. */
function done(ctx: EchoContext, head: RequestHead, socket: Socket, route: RouteLabel, start: number): void {
  ctx.metrics.request(route, 200, "HTTP/1.1");
  if (!ctx.config.accessLog) return;
  const record: AccessRecord = {
    method: head.method,
    path: head.target,
    proto: "HTTP/1.1",
    status: 200,
    route,
    ms: Math.round((performance.now() - start) * 1000) / 1000,
    remote: socket.remoteAddress,
    ua: userAgent(head.rawHeaders),
  };
  ctx.logger.info(record, "request");
}

function userAgent(raw: readonly string[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2)
    if ((raw[i] as string).toLowerCase() === "user-agent") return raw[i + 1];
  return undefined;
}

/** POST /echo with a Content-Length: the body streamed back as it arrives, with backpressure both ways. */
class EchoBack implements H1ActiveStream {
  requestTrailers = null;
  private head: string | null;
  private readonly startedAt: number;
  private readonly socket: Socket;

  constructor(
    private readonly ctx: EchoContext,
    private readonly conn: H1Connection,
    private readonly request: RequestHead,
  ) {
    this.socket = conn.socket;
    this.startedAt = ctx.config.accessLog ? performance.now() : 0;
    this.head = responseHead(ctx, "/echo", contentType(request.rawHeaders), request.contentLength);
  }

  start(): void {
    this.conn.begin(this);
    const body = this.request.body;
    if (body === null) return;
    body.on("data", this.onData);
    body.once("end", this.onEnd);
  }

  private readonly onData = (chunk: Buffer): void => {
    const socket = this.socket;
    let ok: boolean;
    if (this.head !== null) {
      // The head goes out with the first chunk, as node:http sends it.
      socket.cork();
      socket.write(this.head, "latin1");
      ok = socket.write(chunk);
      socket.uncork();
      this.head = null;
    } else ok = socket.write(chunk);
    if (!ok) {
      this.request.body?.pause();
      socket.once("drain", this.onDrain);
    }
  };

  private readonly onDrain = (): void => {
    this.request.body?.resume();
  };

  private readonly onEnd = (): void => {
    done(this.ctx, this.request, this.socket, "/echo", this.startedAt);
    this.conn.streamDone(this, false);
  };

  /** The client left mid-body: nothing was answered, nothing is counted (as app.ts). */
  socketClosed(): void {
    this.socket.removeListener("drain", this.onDrain);
  }

  /** Not reached: a body with a Content-Length cannot be malformed. */
  bodyError(): void {
    this.socket.destroy();
  }
}

function contentType(raw: readonly string[]): string {
  for (let i = 0; i < raw.length; i += 2)
    if ((raw[i] as string).toLowerCase() === "content-type") return raw[i + 1] as string;
  return "application/octet-stream";
}

/** The head as received (names and values as node:http reads them), then `rest`. */
function headBytes(head: RequestHead, rest: Buffer): Buffer {
  let text = `${head.method} ${head.target} HTTP/1.${head.http10 ? 0 : 1}\r\n`;
  const raw = head.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  text += "\r\n";
  const bytes = Buffer.from(text, "latin1");
  return rest.length > 0 ? Buffer.concat([bytes, rest]) : bytes;
}

let dateSecond = -1;
let dateText = "";

/** The `Date` value, made once a second (node:http caches it the same way). */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}
