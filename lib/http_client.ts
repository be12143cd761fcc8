/**
 * One HTTP/1.1 client request, whole response in memory: what the conformance checks and the tests
 * send (test-support/ re-exports it). h2c is in ./h2_client.ts.
 */
import http from "node:http";
import https from "node:https";
import type { ConnectionOptions, TLSSocket } from "node:tls";

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Header names and values as received: [name, value, name, value, ...]. */
  rawHeaders: string[];
  trailers: NodeJS.Dict<string>;
  body: Buffer;
  /** `body` as UTF-8. */
  text: string;
  /** The body arrived whole (false: the connection was reset or closed mid-body). */
  complete: boolean;
  /** Over TLS: the ALPN protocol the server chose (false: none) and its certificate's SANs (`DNS:a, DNS:b`). */
  tls?: { alpn: string | false; peerSan: string };
}

export interface RequestOptions {
  method?: string;
  /** An object, or a raw list [name, value, ...] to send repeated or oddly cased names as they are. */
  headers?: http.OutgoingHttpHeaders | string[];
  body?: Buffer | string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Fail the request when the socket is idle this long (default: no limit). */
  timeoutMs?: number;
  /** Resolve with `complete: false` when the response breaks off mid-body (default: reject). */
  acceptTruncated?: boolean;
  /** A keep-alive pool to send on (default: a fresh connection, closed after the response). */
  agent?: http.Agent;
  /** Send over TLS (HTTPS) with these options: `ca`, `servername`, a client `cert`/`key`, `ALPNProtocols`. */
  tls?: ConnectionOptions;
}

/** One HTTP/1.1 request (on a fresh connection unless `agent` is given); resolves with the whole response. */
export function request(port: number, path: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const send = options.tls === undefined ? http.request : https.request;
    const req = send(
      {
        host: options.host ?? "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        headers: options.headers,
        agent: options.agent ?? false,
        timeout: options.timeoutMs,
        ...options.tls,
      },
      (res) => {
        const secure = options.tls === undefined ? undefined : (res.socket as TLSSocket);
        const tls = secure && {
          alpn: secure.alpnProtocol ?? false,
          peerSan: secure.getPeerCertificate().subjectaltname ?? "",
        };
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", (err) => {
          if (options.acceptTruncated !== true) reject(err);
        });
        res.on("close", () => {
          const body = Buffer.concat(chunks);
          const complete = res.complete;
          if (!complete && options.acceptTruncated !== true) {
            reject(new Error(`response to ${path} broke off after ${body.length} bytes`));
            return;
          }
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            trailers: res.trailers,
            body,
            text: body.toString("utf8"),
            complete,
            ...(tls && { tls }),
          });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout after ${options.timeoutMs} ms: ${path}`)));
    req.on("error", reject);
    req.end(options.body);
  });
}
