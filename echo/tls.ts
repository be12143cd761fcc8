/**
 * The echo's TLS side: the certificate files checked and loaded into node:tls server options (ALPN
 * h2 and http/1.1, optional client-certificate verification), and the TCP socket under a TLS socket
 * (a TCP RST for `echo_reset` has to be sent on it).
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Socket } from "node:net";
import { createSecureContext, type TlsOptions } from "node:tls";
import { EchoConfigError, type EchoTlsConfig } from "./settings.js";

/** What the TLS port offers by ALPN, best first. A client offering neither gets HTTP/1.1. */
export const ALPN_PROTOCOLS = ["h2", "http/1.1"];

/**
 * Reads and checks the files of `config`; throws EchoConfigError naming the file's setting
 * (`tls.cert`, `tls.key`, `tls.clientCa`) when one cannot be read, is not PEM of its kind, or the key
 * is not the certificate's.
 */
export function loadTls(config: EchoTlsConfig): TlsOptions {
  const cert = readPem("tls.cert", config.cert);
  const key = readPem("tls.key", config.key);
  const ca = config.clientCa === undefined ? undefined : readPem("tls.clientCa", config.clientCa);
  check("tls.cert", "is not a PEM certificate", () => new X509Certificate(cert));
  check("tls.key", "is not a PEM private key", () => createPrivateKey(key));
  if (ca !== undefined) check("tls.clientCa", "is not a PEM certificate", () => new X509Certificate(ca));
  const options: TlsOptions = {
    cert,
    key,
    ALPNProtocols: ALPN_PROTOCOLS,
    // With a client CA, OpenSSL asks for a certificate and fails the handshake without one; Node
    // closes a connection whose certificate does not chain to `ca` right after the handshake.
    ...(ca === undefined ? {} : { ca, requestCert: true, rejectUnauthorized: true }),
  };
  check("tls.key", "does not belong to the certificate", () => createSecureContext(options));
  return options;
}

function readPem(field: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason =
      e.code === "ENOENT" ? "no such file" : e.code === "EACCES" ? "permission denied" : e.message;
    throw new EchoConfigError(
      `${field} cannot be read: ${reason} (${path})`,
      field,
      `cannot be read: ${reason}`,
    );
  }
}

function check(field: string, problem: string, attempt: () => unknown): void {
  try {
    attempt();
  } catch {
    throw new EchoConfigError(`${field} ${problem}`, field, problem);
  }
}

/** Where a TLS socket keeps the TCP socket it runs on (set by `linkTcp` when the handshake is done). */
const TCP = Symbol("echo.tcp");
type Linked = Socket & { [TCP]?: Socket };

/** Records `tcp` as the socket under `tlsSocket`. */
export function linkTcp(tlsSocket: Socket, tcp: Socket): void {
  (tlsSocket as Linked)[TCP] = tcp;
}

/** The TCP socket under `socket` when it is a TLS socket, else `socket` itself. */
export function tcpOf(socket: Socket): Socket {
  return (socket as Linked)[TCP] ?? socket;
}
