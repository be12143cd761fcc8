/**
 * Test clients shared by the echo and proxy tests: one HTTP/1.1 request (no keep-alive agent) and a
 * raw TCP exchange. Loopback only.
 */
import http from "node:http";
import net from "node:net";

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** `body` as UTF-8. */
  text: string;
}

export interface RequestOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: Buffer | string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Fail the request when the socket is idle this long (default: no limit). */
  timeoutMs?: number;
}

/** One HTTP/1.1 request on a fresh connection; resolves with the whole response. */
export function request(port: number, path: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: options.host ?? "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        headers: options.headers,
        agent: false,
        timeout: options.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString("utf8") });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(options.body);
  });
}

/**
 * Writes raw bytes and resolves with everything the server sends (latin1) once the connection
 * closes; with `closeAfterMs`, our side ends the connection after that long.
 */
export function raw(port: number, text: string | Buffer, closeAfterMs?: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("latin1"));
    });
    socket.write(text);
    if (closeAfterMs !== undefined) timer = setTimeout(() => socket.end(), closeAfterMs);
  });
}
