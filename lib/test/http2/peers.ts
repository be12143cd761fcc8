/**
 * The two sides of the differential tests, each in two implementations: ours (lib/http2) and node:http2
 * (nghttp2). The echo server behaves the same on both; the clients report what a user sees of a
 * response the same way, so that any difference in the reports is a difference of the HTTP/2 layers.
 */
import { createHash } from "node:crypto";
import http2 from "node:http2";
import net, { type Server } from "node:net";
import { Http2Connection, type Http2Options } from "../../http2/connection.js";
import { ErrorCode } from "../../http2/frames.js";
import { createH2cServer } from "../../http2/server.js";
import type { Fields, Http2Stream } from "../../http2/stream.js";

export interface Req {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  trailers?: Record<string, string>;
}

/** What a user sees of one exchange. */
export interface Res {
  status?: number;
  headers?: Record<string, string>;
  bodyLength?: number;
  bodySha?: string;
  trailers?: Record<string, string>;
  /** RST_STREAM code when the stream was reset instead of ending. */
  reset?: number;
}

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex").slice(0, 16);

/** A deterministic body of `n` bytes. */
export function pattern(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >>> 8)) & 0xff;
  return b;
}

// --- The echo server's behaviour, by path ---
//   /echo           200, x-method, x-body-length, x-got-trailer, x-echo-<name> for each request field
//                   x-r*; the body back; trailer x-trailer-echo
//   /big/<n>        200 with n pattern bytes
//   /status/<code>  that status, no body
//   /reset          RST_STREAM CANCEL before any response

function plan(
  method: string,
  path: string,
  body: Buffer,
  trailer: string | undefined,
  echo: Record<string, string>,
) {
  if (path === "/reset") return { reset: true as const };
  if (path.startsWith("/status/")) return { status: Number(path.slice(8)), body: Buffer.alloc(0) };
  if (path.startsWith("/big/")) return { status: 200, body: pattern(Number(path.slice(5))) };
  return {
    status: 200,
    headers: {
      "x-method": method,
      "x-body-length": String(body.length),
      "x-got-trailer": trailer ?? "none",
      ...echo,
    },
    body,
    trailers: trailer !== undefined ? { "x-trailer-echo": trailer } : undefined,
  };
}

function get(fields: Fields, name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

const flat = (o: Record<string, string>): string[] => Object.entries(o).flat();

export function ourEchoServer(options: Http2Options = {}): Server {
  return createH2cServer((stream: Http2Stream, fields: Fields) => {
    const chunks: Buffer[] = [];
    let trailer: string | undefined;
    const method = get(fields, ":method") ?? "";
    const path = get(fields, ":path") ?? "";
    if (path === "/reset") {
      stream.reset(ErrorCode.CANCEL);
      return;
    }
    stream.onData = (chunk) => chunks.push(Buffer.from(chunk));
    stream.onTrailers = (t) => {
      trailer = get(t, "x-trailer");
    };
    stream.onEnd = () => {
      const echo: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) {
        if ((fields[i] as string).startsWith("x-r")) echo[`x-echo-${fields[i]}`] = fields[i + 1] as string;
      }
      const p = plan(method, path, Buffer.concat(chunks), trailer, echo);
      if ("reset" in p) return;
      const head = [":status", String(p.status), ...flat(p.headers ?? {})];
      if (p.body.length === 0 && p.trailers === undefined) {
        stream.respond(head, true);
        return;
      }
      stream.respond(head);
      stream.write(p.body);
      stream.end(p.trailers !== undefined ? flat(p.trailers) : undefined);
    };
  }, options);
}

export function nodeEchoServer(): http2.Http2Server {
  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    const method = String(headers[":method"]);
    const path = String(headers[":path"]);
    if (path === "/reset") {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      return;
    }
    const chunks: Buffer[] = [];
    let trailer: string | undefined;
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("trailers", (t) => {
      trailer = t["x-trailer"] as string | undefined;
    });
    stream.on("end", () => {
      const echo: Record<string, string> = {};
      for (const [k, v] of Object.entries(headers)) if (k.startsWith("x-r")) echo[`x-echo-${k}`] = String(v);
      const p = plan(method, path, Buffer.concat(chunks), trailer, echo);
      if ("reset" in p) return;
      const head = { ":status": p.status, ...(p.headers ?? {}) };
      if (p.body.length === 0 && p.trailers === undefined) {
        stream.respond(head, { endStream: true });
        return;
      }
      stream.respond(head, { waitForTrailers: p.trailers !== undefined });
      if (p.trailers !== undefined) {
        const t = p.trailers;
        stream.on("wantTrailers", () => stream.sendTrailers(t));
      }
      stream.end(p.body);
    });
  });
  return server;
}

const KEEP = (name: string): boolean => name.startsWith("x-") || name === "content-length";

function pick(o: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) if (KEEP(k) && v !== undefined) out[k] = String(v);
  return out;
}

function pickFields(fields: Fields): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2)
    if (KEEP(fields[i] as string)) out[fields[i] as string] = fields[i + 1] as string;
  return out;
}

export interface Client {
  send(req: Req): Promise<Res>;
  close(): void;
}

export async function nodeClient(port: number): Promise<Client> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  await new Promise<void>((resolve) => session.once("connect", () => resolve()));
  return {
    send(req) {
      return new Promise((resolve) => {
        const stream = session.request(
          { ":method": req.method, ":path": req.path, ...(req.headers ?? {}) },
          {
            endStream: req.body === undefined && req.trailers === undefined,
            waitForTrailers: req.trailers !== undefined,
          },
        );
        const res: Res = {};
        const chunks: Buffer[] = [];
        stream.on("response", (h) => {
          res.status = Number(h[":status"]);
          res.headers = pick(h);
        });
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("trailers", (t) => {
          res.trailers = pick(t);
        });
        stream.on("error", () => {});
        if (req.trailers !== undefined) {
          const t = req.trailers;
          stream.on("wantTrailers", () => stream.sendTrailers(t));
        }
        stream.on("close", () => {
          if (stream.rstCode !== 0 && res.status === undefined) {
            resolve({ reset: stream.rstCode });
            return;
          }
          const body = Buffer.concat(chunks);
          resolve({ ...res, bodyLength: body.length, bodySha: sha(body) });
        });
        if (req.body !== undefined) stream.end(req.body);
        else if (req.trailers !== undefined) stream.end();
      });
    },
    close: () => session.destroy(),
  };
}

export async function ourClient(
  port: number,
  options: Http2Options = {},
): Promise<Client & { connection: Http2Connection }> {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  const connection = new Http2Connection(socket, "client", options);
  return {
    connection,
    send(req) {
      return new Promise((resolve) => {
        const fields = [
          ":method",
          req.method,
          ":scheme",
          "http",
          ":path",
          req.path,
          ":authority",
          `127.0.0.1:${port}`,
        ];
        fields.push(...flat(req.headers ?? {}));
        const noBody = req.body === undefined && req.trailers === undefined;
        const stream = connection.request(fields, noBody);
        const res: Res = {};
        const chunks: Buffer[] = [];
        stream.onHeaders = (f) => {
          res.status = Number(get(f, ":status"));
          res.headers = pickFields(f);
        };
        stream.onData = (c) => chunks.push(Buffer.from(c));
        stream.onTrailers = (t) => {
          res.trailers = pickFields(t);
        };
        stream.onEnd = () => {
          const body = Buffer.concat(chunks);
          resolve({ ...res, bodyLength: body.length, bodySha: sha(body) });
        };
        stream.onReset = (code) =>
          resolve(res.status === undefined ? { reset: code } : { ...res, reset: code });
        if (req.body !== undefined) stream.write(req.body);
        if (!noBody) stream.end(req.trailers !== undefined ? flat(req.trailers) : undefined);
      });
    },
    close: () => connection.destroy(),
  };
}
