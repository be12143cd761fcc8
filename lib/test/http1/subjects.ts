/**
 * The two subjects of the HTTP/1.1 differential tests, behind one interface so that each raw
 * message is judged the same way by both: llhttp (node:http's parser, strict: `insecureHTTPParser:
 * false`, default limits) and our codec (`H1Connection` downstream, `H1Client` upstream). This is
 * the ONLY file that imports our codec: when it moves, only the imports below change.
 *
 * Every exchange runs on real loopback sockets, one server per message, so what is compared is what
 * a peer sees: the requests a server hands its application (or the status it refuses with), the
 * response a client hands its caller (or the error it fails with).
 *
 * Normalisation (what the comparison does not count): a server stops at the first request that
 * does not keep the connection alive (what comes after it is never served); response header names
 * are lower-cased and the hop-by-hop ones dropped, as our client does for the proxy; 1xx responses
 * are skipped (our client does not forward them).
 */
import http from "node:http";
import net, { type AddressInfo, type Socket } from "node:net";
import { Duplex } from "node:stream";
import { ignoreErrorHandledOnClose } from "../../errors.js";
import { H1Client, type H1Handler as H1ClientHandler } from "../../http1/client_connection.js";
import {
  type H1ActiveStream,
  H1Connection,
  type H1Handler,
  type H1Options,
  type RequestHead,
} from "../../http1/server_connection.js";

/** One request as a server application receives it. */
export interface SeenRequest {
  method: string;
  target: string;
  /** "1.0" or "1.1" (llhttp also says "0.9"). */
  version: string;
  /** Name/value pairs as received (names as sent). */
  headers: string[];
  /** The body, latin1. */
  body: string;
  /** Chunked trailers, names lower-cased. */
  trailers: string[];
  keepAlive: boolean;
}

/**
 * How the bytes ended: `complete` (every byte was part of a request served), `incomplete` (the
 * server waits for more), `upgrade` (the last request took the connection over: Upgrade or CONNECT),
 * `rejected <status>` (400, 431, 501: refused; the requests before it were served), `hung` (neither
 * within the deadline: a bug in itself).
 */
export type RequestEnd = "complete" | "incomplete" | "upgrade" | `rejected ${number}` | "hung";

export interface RequestOutcome {
  requests: SeenRequest[];
  end: RequestEnd;
  /** The parser's own word for a refusal (llhttp's `HPE_*`, our `CodecError`), for messages only. */
  detail: string;
}

/** One response as a client hands it to its caller. */
export interface SeenResponse {
  /** 0 when no final response head was accepted. */
  status: number;
  /** Lower-case names, hop-by-hop removed, in order. */
  headers: string[];
  body: string;
  trailers: string[];
  /** null: the response completed; else whether it failed before or after its head. */
  error: null | "before-head" | "after-head";
  detail: string;
}

/** Envoy's defaults, as the proxy configures the codec when the HCM sets nothing. */
export const ENVOY_H1_OPTIONS: H1Options = {
  maxHeadBytes: 60 * 1024,
  maxHeadersCount: 100,
  idleTimeoutMs: 0,
  headersTimeoutMs: 0,
  streamIdleTimeoutMs: 0,
  requestTimeoutMs: 0,
};

const DEADLINE_MS = 3000;

/** What a refusal code means as a status, as node:http answers it (431 for a head too large). */
function llhttpStatus(code: string | undefined): number {
  return code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
}

/** Starts `server` on loopback; resolves with its port. */
function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

/** Connects, writes `bytes`, half-closes when `fin`; the socket is destroyed by `close()`. */
async function client(port: number, bytes: Buffer, fin: boolean): Promise<Socket> {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", ignoreErrorHandledOnClose);
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  if (fin) socket.end(bytes);
  else socket.write(bytes);
  return socket;
}

/** Runs `run` with a fresh server; settles with what `run` resolves, or `onDeadline()` after DEADLINE_MS. */
async function withServer<T>(
  server: net.Server,
  run: (port: number) => Promise<T>,
  onDeadline: () => T,
): Promise<T> {
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const port = await listen(server);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      run(port),
      new Promise<T>((resolve) => {
        timer = setTimeout(() => resolve(onDeadline()), DEADLINE_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

// --- requests ---

/** llhttp: a node:http server receives `bytes` (then the client's FIN) and serves every request. */
export function llhttpRequests(bytes: Buffer): Promise<RequestOutcome> {
  const out: RequestOutcome = { requests: [], end: "hung", detail: "" };
  const slots: (SeenRequest | null)[] = [];
  // The requests after one that closes the connection are never served.
  let closing = false;
  const server = http.createServer({ insecureHTTPParser: false, requireHostHeader: false });
  return withServer(
    server,
    (port) =>
      new Promise<RequestOutcome>((resolve) => {
        let settled = false;
        const settle = (end: RequestEnd, detail = ""): void => {
          if (settled) return;
          settled = true;
          out.requests = slots.filter((r): r is SeenRequest => r !== null);
          out.end = closing && (end.startsWith("rejected") || end === "incomplete") ? "complete" : end;
          out.detail = closing ? "" : detail;
          resolve(out);
        };
        server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
          if (closing) return;
          const index = slots.push(null) - 1;
          const keepAlive = res.shouldKeepAlive;
          if (!keepAlive) closing = true;
          const chunks: Buffer[] = [];
          req.on("data", (c: Buffer) => chunks.push(c));
          req.on("error", ignoreErrorHandledOnClose);
          req.on("end", () => {
            slots[index] = {
              method: req.method ?? "",
              target: req.url ?? "",
              version: req.httpVersion,
              headers: [...req.rawHeaders],
              body: Buffer.concat(chunks).toString("latin1"),
              trailers: lowerNames(req.rawTrailers),
              keepAlive,
            };
            res.end();
          });
        });
        const upgraded = (req: http.IncomingMessage, socket: net.Socket): void => {
          if (!closing) {
            slots.push({
              method: req.method ?? "",
              target: req.url ?? "",
              version: req.httpVersion,
              headers: [...req.rawHeaders],
              body: "",
              trailers: [],
              keepAlive: true,
            });
          }
          socket.destroy();
          settle("upgrade");
        };
        server.on("upgrade", upgraded);
        server.on("connect", upgraded);
        server.on("clientError", (err: NodeJS.ErrnoException, socket: net.Socket) => {
          // After the requests parsed before the error have been read (their 'end' comes on a later tick).
          setImmediate(() => {
            socket.destroy();
            if (err.code === "HPE_INVALID_EOF_STATE") settle("incomplete", err.code);
            else settle(`rejected ${llhttpStatus(err.code)}`, err.code ?? err.message);
          });
        });
        server.on("connection", (s: Socket) => {
          // Every served request has run its handlers by the time the server's side closes.
          s.on("close", () => setImmediate(() => settle("complete")));
        });
        void client(port, bytes, true);
      }),
    () => {
      out.requests = slots.filter((r): r is SeenRequest => r !== null);
      return out;
    },
  );
}

/** Our codec reading `total` bytes from a socket handed to `attach`; `done` settles with the outcome. */
function codecRun(
  total: number,
  options: H1Options,
): { attach(socket: Socket): void; done: Promise<RequestOutcome>; out: RequestOutcome } {
  const out: RequestOutcome = { requests: [], end: "hung", detail: "" };
  let resolveRun: (o: RequestOutcome) => void = () => undefined;
  const done = new Promise<RequestOutcome>((resolve) => {
    resolveRun = resolve;
  });
  let settled = false;
  let received = 0;
  let inFlight = false;
  let conn: H1Connection | null = null;
  let idleChecks = 0;
  const settle = (end: RequestEnd, detail = ""): void => {
    if (settled) return;
    settled = true;
    out.end = end;
    out.detail = detail;
    resolveRun(out);
  };
  /** Called after anything happens: once every byte is in and nothing moves for two turns, it is over. */
  const check = (): void => {
    if (settled || received < total) return;
    idleChecks = 0;
    const again = (): void => {
      if (settled || received < total) return;
      if (++idleChecks < 3) {
        setImmediate(again);
        return;
      }
      if (inFlight || conn === null || !conn.idle) settle("incomplete");
      else settle("complete");
    };
    setImmediate(again);
  };
  const handler: H1Handler = {
    onRequest(c: H1Connection, head: RequestHead): void {
      const stream: H1ActiveStream = {
        requestTrailers: null,
        socketClosed: () => settle("incomplete", "closed"),
        bodyError: () => settle("rejected 400", "body"),
      };
      c.begin(stream);
      if (head.framing === "unknown") {
        // The connection manager answers 501 (Envoy: a transfer coding its codec cannot read).
        settle("rejected 501", "unknown transfer-encoding");
        return;
      }
      inFlight = true;
      const seen: SeenRequest = {
        method: head.method,
        target: head.target,
        version: head.http10 ? "1.0" : "1.1",
        headers: [...head.rawHeaders],
        body: "",
        trailers: [],
        keepAlive: head.keepAlive,
      };
      const done = (): void => {
        out.requests.push(seen);
        inFlight = false;
        c.streamDone(stream, !head.keepAlive);
        if (!head.keepAlive) settle("complete");
        else check();
      };
      const body = head.body;
      if (body === null) {
        process.nextTick(done);
        return;
      }
      const chunks: Buffer[] = [];
      body.on("data", (chunk: Buffer) => chunks.push(chunk));
      body.on("end", () => {
        seen.body = Buffer.concat(chunks).toString("latin1");
        seen.trailers = lowerNames(stream.requestTrailers ?? []);
        done();
      });
    },
    onUpgrade(_c: H1Connection, head: RequestHead): void {
      out.requests.push({
        method: head.method,
        target: head.target,
        version: head.http10 ? "1.0" : "1.1",
        headers: [...head.rawHeaders],
        body: "",
        trailers: [],
        keepAlive: true,
      });
      settle("upgrade");
    },
    onCodecError(socket: Socket, error): void {
      socket.destroy();
      settle(`rejected ${error === "bad_request" ? 400 : error.endsWith("_timeout") ? 408 : 431}`, error);
    },
    onIdleTimeout(): void {
      settle("hung", "idle timeout");
    },
  };
  const registry = new Set<H1Connection>();
  return {
    attach(socket: Socket): void {
      socket.on("error", ignoreErrorHandledOnClose);
      conn = new H1Connection(socket, handler, options, registry);
      // After the codec's own listener: each read has been parsed when this counts it.
      socket.on("data", (d: Buffer) => {
        received += d.length;
        check();
      });
    },
    done,
    out,
  };
}

/**
 * Our downstream codec: an H1Connection (Envoy's default limits) reads `bytes`; each request is
 * served as the connection manager does (its body read, then `streamDone`), so pipelined requests
 * follow one at a time. The client sends no FIN (our codec closes on one, as Envoy): the end is known
 * once every byte was read and nothing more progresses.
 */
export function ourRequests(bytes: Buffer, options: H1Options = ENVOY_H1_OPTIONS): Promise<RequestOutcome> {
  const run = codecRun(bytes.length, options);
  const server = net.createServer((socket) => run.attach(socket));
  return withServer(
    server,
    (port) => {
      void client(port, bytes, false);
      return run.done;
    },
    () => run.out,
  );
}

/**
 * Our downstream codec reading `pieces` as separate reads, in order, all within one tick: a socket
 * that is never connected, whose reads the test makes (deterministic splits, no I/O).
 */
export async function ourRequestsInPieces(
  pieces: Buffer[],
  options: H1Options = ENVOY_H1_OPTIONS,
): Promise<RequestOutcome> {
  const run = codecRun(
    pieces.reduce((n, p) => n + p.length, 0),
    options,
  );
  const socket = new net.Socket();
  run.attach(socket);
  let timer: NodeJS.Timeout | undefined;
  try {
    for (const piece of pieces) if (!socket.destroyed) socket.emit("data", piece);
    if (pieces.every((p) => p.length === 0)) return { requests: [], end: "complete", detail: "" };
    return await Promise.race([
      run.done,
      new Promise<RequestOutcome>((resolve) => {
        timer = setTimeout(() => resolve(run.out), DEADLINE_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

// --- responses ---

/** Response headers our client removes for the proxy (and so, here, from llhttp's too). */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

/** A raw server that answers the first request head with `bytes`, then closes its side. */
function rawResponder(bytes: Buffer): net.Server {
  return net.createServer((socket) => {
    socket.on("error", ignoreErrorHandledOnClose);
    let head = "";
    const onData = (d: Buffer): void => {
      head += d.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      socket.removeListener("data", onData);
      socket.end(bytes);
    };
    socket.on("data", onData);
  });
}

/** The first verdict on a response wins: it sets `out.error` and `out.detail` and resolves with `out`. */
function responseSettler(
  out: SeenResponse,
  resolve: (seen: SeenResponse) => void,
): (error: SeenResponse["error"], detail?: string) => void {
  let settled = false;
  return (error, detail = "") => {
    if (settled) return;
    settled = true;
    out.error = error;
    out.detail = detail;
    resolve(out);
  };
}

/** llhttp: `http.request` (strict parser, no agent) reads `bytes` as the response to `method /`. */
export function llhttpResponse(bytes: Buffer, method = "GET"): Promise<SeenResponse> {
  const out: SeenResponse = { status: 0, headers: [], body: "", trailers: [], error: null, detail: "" };
  return withServer(
    rawResponder(bytes),
    (port) =>
      new Promise<SeenResponse>((resolve) => {
        const settle = responseSettler(out, resolve);
        const req = http.request({
          host: "127.0.0.1",
          port,
          method,
          path: "/",
          agent: false,
          insecureHTTPParser: false,
        });
        req.on("error", (err: NodeJS.ErrnoException) =>
          settle(out.status === 0 ? "before-head" : "after-head", err.code ?? err.message),
        );
        // A 101 is no final response to a plain request (our client calls it a protocol error).
        req.on("upgrade", (_res: http.IncomingMessage, socket: net.Socket) => {
          socket.destroy();
          settle("before-head", "101 upgrade");
        });
        req.on("response", (res: http.IncomingMessage) => {
          out.status = res.statusCode ?? 0;
          out.headers = withoutHopByHop(res.rawHeaders);
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", (err: NodeJS.ErrnoException) => settle("after-head", err.code ?? err.message));
          res.on("aborted", () => settle("after-head", "aborted"));
          res.on("end", () => {
            out.body = Buffer.concat(chunks).toString("latin1");
            out.trailers = lowerNames(res.rawTrailers);
            // A body cut short ends with `complete` false (node does not always emit an error).
            if (res.complete) settle(null);
            else settle("after-head", "incomplete");
          });
        });
        req.end();
      }),
    (): SeenResponse => ({ ...out, error: out.status === 0 ? "before-head" : "after-head", detail: "hung" }),
  );
}

/** Our upstream client: an H1Client exchange `method /` reads `bytes` as its response. */
export async function ourResponse(bytes: Buffer, method = "GET"): Promise<SeenResponse> {
  let client: H1Client | null = null;
  const out: SeenResponse = { status: 0, headers: [], body: "", trailers: [], error: null, detail: "" };
  const seen = await withServer(
    rawResponder(bytes),
    (port) =>
      new Promise<SeenResponse>((resolve) => {
        const settle = responseSettler(out, resolve);
        const chunks: Buffer[] = [];
        const handler: H1ClientHandler = {
          onConnect: () => undefined,
          onHeaders(status, headers) {
            out.status = status;
            out.headers = [...headers];
            return true;
          },
          onData(chunk) {
            chunks.push(Buffer.from(chunk));
            return true;
          },
          onComplete(trailers) {
            out.body = Buffer.concat(chunks).toString("latin1");
            out.trailers = lowerNames(trailers ?? []);
            settle(null);
          },
          onError(err: NodeJS.ErrnoException) {
            out.body = Buffer.concat(chunks).toString("latin1");
            settle(out.status === 0 ? "before-head" : "after-head", `${err.code}: ${err.message}`);
          },
        };
        const h1 = new H1Client(
          (cb) => {
            const socket = net.connect(port, "127.0.0.1");
            socket.once("connect", () => cb(null, socket));
            socket.once("error", (err) => cb(err, null));
          },
          {
            onOpen: () => undefined,
            onClose: () => undefined,
            onCloseNotify: () => undefined,
            onProtocolError: () => undefined,
          },
          0,
          0,
        );
        h1.dispatch({ method, path: "/", headers: ["host", "upstream.test"], body: null }, handler);
        client = h1;
      }),
    (): SeenResponse => ({ ...out, error: out.status === 0 ? "before-head" : "after-head", detail: "hung" }),
  );
  // Done with the exchange either way: its socket must not outlive the test.
  (client as H1Client | null)?.destroy();
  return seen;
}

/**
 * Our upstream client reading `pieces` as separate reads, then the upstream's close: the socket is a
 * stand-in (a Duplex with the few Socket methods the client calls) that takes the request and is
 * handed each piece by the test (deterministic splits, no I/O).
 */
export async function ourResponseInPieces(pieces: Buffer[], method = "GET"): Promise<SeenResponse> {
  const out: SeenResponse = { status: 0, headers: [], body: "", trailers: [], error: null, detail: "" };
  const socket = Object.assign(
    new Duplex({
      read: () => undefined,
      write: (_chunk, _encoding, callback) => callback(),
    }),
    { setTimeout: () => socket },
  );
  let sent = false;
  const chunks: Buffer[] = [];
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<SeenResponse>((resolve) => {
    let settled = false;
    const settle = (error: SeenResponse["error"], detail = ""): void => {
      if (settled) return;
      settled = true;
      out.body = Buffer.concat(chunks).toString("latin1");
      out.error = error;
      out.detail = detail;
      resolve(out);
    };
    timer = setTimeout(() => settle(out.status === 0 ? "before-head" : "after-head", "hung"), DEADLINE_MS);
    const handler: H1ClientHandler = {
      onConnect: () => {
        sent = true;
      },
      onHeaders(status, headers) {
        out.status = status;
        out.headers = [...headers];
        return true;
      },
      onData(chunk) {
        chunks.push(Buffer.from(chunk));
        return true;
      },
      onComplete(trailers) {
        out.trailers = lowerNames(trailers ?? []);
        settle(null);
      },
      onError(err: NodeJS.ErrnoException) {
        settle(out.status === 0 ? "before-head" : "after-head", `${err.code}: ${err.message}`);
      },
    };
    const h1 = new H1Client(
      (cb) => process.nextTick(() => cb(null, socket as unknown as Socket)),
      {
        onOpen: () => undefined,
        onClose: () => undefined,
        onCloseNotify: () => undefined,
        onProtocolError: () => undefined,
      },
      0,
      0,
    );
    h1.dispatch({ method, path: "/", headers: ["host", "upstream.test"], body: null }, handler);
  });
  // The request goes out on a later tick; the response comes after it.
  for (let i = 0; i < 10 && !sent; i++) await new Promise((r) => setImmediate(r));
  for (const piece of pieces) if (!socket.destroyed) socket.emit("data", piece);
  if (!socket.destroyed) {
    socket.emit("end");
    socket.destroy();
  }
  try {
    return await done;
  } finally {
    clearTimeout(timer);
  }
}

function lowerNames(raw: readonly string[]): string[] {
  return raw.map((v, i) => (i % 2 === 0 ? v.toLowerCase() : v));
}

function withoutHopByHop(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (!HOP_BY_HOP.has(name)) out.push(name, raw[i + 1] as string);
  }
  return out;
}
