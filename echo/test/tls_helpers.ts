/** TLS test clients for the echo (HTTPS over HTTP/1.1 and HTTP/2) and a throw-away PKI for them. */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http2 from "node:http2";
import https from "node:https";
import os from "node:os";
import { join } from "node:path";
import type tls from "node:tls";
import { ignoreErrorHandledOnClose } from "../../lib/errors.js";
import { type CertFiles, createTestPki } from "../../lib/test_pki.js";

/** A server certificate for 127.0.0.1/localhost, a client one, and a client one from another CA. */
export interface Pki {
  dir: string;
  /** The CA file (trusted by clients, and the echo's client CA). */
  ca: string;
  server: CertFiles;
  client: CertFiles;
  /** Issued by another CA: the echo must refuse it. */
  stranger: CertFiles;
  /** Contents, for clients. */
  caPem: Buffer;
  clientPem: { cert: Buffer; key: Buffer };
  strangerPem: { cert: Buffer; key: Buffer };
  remove(): Promise<void>;
}

export async function makePki(): Promise<Pki> {
  const dir = await mkdtemp(join(os.tmpdir(), "echo-tls-"));
  const pki = await createTestPki(join(dir, "main"));
  const other = await createTestPki(join(dir, "other"), "another CA");
  const server = await pki.issue("echo", { dns: ["localhost", "echo.test"], ips: ["127.0.0.1"] });
  const client = await pki.issue("client", { cn: "client-1", uris: ["spiffe://mesh/client-1"] });
  const stranger = await other.issue("stranger", { cn: "stranger" });
  const pem = async (f: CertFiles) => ({ cert: await readFile(f.cert), key: await readFile(f.key) });
  return {
    dir,
    ca: pki.ca,
    server,
    client,
    stranger,
    caPem: await readFile(pki.ca),
    clientPem: await pem(client),
    strangerPem: await pem(stranger),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface TlsReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface TlsRequestOptions {
  ca: Buffer;
  /** A client certificate to present. */
  cert?: { cert: Buffer; key: Buffer };
  /** SNI (default: none for an IP address). */
  servername?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** ALPN offered (default http/1.1 only; [] offers none). */
  alpn?: string[];
}

/** One HTTPS request over HTTP/1.1 on a fresh connection. */
export function httpsRequest(port: number, path: string, opts: TlsRequestOptions): Promise<TlsReply> {
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions & tls.ConnectionOptions = {
      host: "127.0.0.1",
      port,
      path,
      method: opts.method ?? "GET",
      headers: opts.headers,
      ca: opts.ca,
      ...opts.cert,
      servername: opts.servername,
      ALPNProtocols: opts.alpn ?? ["http/1.1"],
      agent: false,
    };
    const req = https.request(options, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        text += c;
      });
      res.on("error", reject);
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** An HTTP/2 session over TLS (ALPN h2) to the echo's TLS port. */
export function h2sSession(port: number, opts: TlsRequestOptions): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, {
      ca: opts.ca,
      ...opts.cert,
      servername: opts.servername ?? "localhost",
    });
    session.once("error", reject);
    session.once("connect", () => {
      session.removeListener("error", reject);
      session.on("error", ignoreErrorHandledOnClose);
      resolve(session);
    });
  });
}

/** One request on an HTTP/2 session; resolves with the whole response. */
export function h2sRequest(
  session: http2.ClientHttp2Session,
  path: string,
  headers: http2.OutgoingHttpHeaders = {},
): Promise<TlsReply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":path": path, ...headers });
    let status = 0;
    let got: http2.IncomingHttpHeaders = {};
    let text = "";
    stream.setEncoding("utf8");
    stream.on("response", (h) => {
      got = h;
      status = Number(h[":status"]);
    });
    stream.on("data", (c: string) => {
      text += c;
    });
    stream.on("error", reject);
    stream.on("end", () => resolve({ status, headers: got, text }));
  });
}
