/**
 * The downstream TLS transport socket (Envoy's `ServerSslSocketFactory`): a listener filter chain's
 * TLS context. Each accepted TCP socket is handed to a `tls.Server` that never listens (as the
 * connection manager hands sockets to its codec); a connection that completes the handshake and
 * passes verification goes on as a TLSSocket, with the ALPN protocol it chose. Verification is
 * Envoy's: a `validation_context` with a `trusted_ca` asks for a client certificate; one that is
 * presented must chain to the CA and match a SAN matcher (if any); `require_client_certificate`
 * refuses a client without one. Every failure is counted in `listener.<address>.ssl.*` and the
 * connection closed; nothing throws.
 */
import type { Socket } from "node:net";
import { createServer, type Server, type TLSSocket } from "node:tls";
import { ignoreErrorHandledOnClose } from "../../lib/errors.js";
import type { DownstreamTlsContext } from "../config/model.js";
import type { SslStats } from "./stats.js";
import { matchSubjectAltNames } from "./verify.js";

/** Node's reason when a client sent no certificate and one was required by OpenSSL itself. */
const NO_CERTIFICATE = "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE";

export interface DownstreamTls {
  /** Starts the handshake on an accepted socket; `onSecure` gets the TLS socket if it succeeds. */
  handshake(socket: Socket): void;
}

/**
 * One listener filter chain's TLS: `onSecure` receives each connection that completed the handshake
 * and passed verification (its `alpnProtocol` set when ALPN chose one).
 */
export function createDownstreamTls(
  config: DownstreamTlsContext,
  stats: SslStats,
  onSecure: (socket: TLSSocket) => void,
): DownstreamTls {
  const validation = config.validation;
  const trustedCa = validation?.trustedCa ?? null;
  const sanMatchers = validation?.sanMatchers ?? [];
  const requestCert = trustedCa !== null || config.requireClientCertificate;
  const server: Server = createServer({
    cert: config.certificates.map((c) => c.certificateChain),
    key: config.certificates.map((c) =>
      c.password === null ? c.privateKey : { pem: c.privateKey, passphrase: c.password },
    ),
    ...(trustedCa === null ? {} : { ca: trustedCa }),
    // Asked for when there is a CA to verify it against or one is required; refused below, so that
    // every refusal is counted.
    requestCert,
    rejectUnauthorized: false,
    minVersion: config.minVersion,
    maxVersion: config.maxVersion,
    ...(config.alpnProtocols.length > 0 ? { ALPNProtocols: config.alpnProtocols } : {}),
  });
  server.on("secureConnection", (socket: TLSSocket) => {
    // Until its connection manager attaches its own; the listener counts the close.
    socket.on("error", ignoreErrorHandledOnClose);
    const peer = requestCert ? socket.getPeerCertificate() : null;
    const hasCert = peer !== null && peer.raw !== undefined;
    if (!hasCert && config.requireClientCertificate) {
      stats.stats.fail_verify_no_cert.value++;
      socket.destroy();
      return;
    }
    if (trustedCa !== null) {
      if (hasCert && !socket.authorized) {
        stats.stats.fail_verify_error.value++;
        socket.destroy();
        return;
      }
      if (hasCert && sanMatchers.length > 0 && !matchSubjectAltNames(peer, sanMatchers)) {
        stats.stats.fail_verify_san.value++;
        socket.destroy();
        return;
      }
    }
    stats.countHandshake(socket, hasCert);
    onSecure(socket);
  });
  // A handshake that failed (not TLS, no shared version or ALPN protocol, a reset, the 120 s
  // handshake timeout): Node destroys the socket; the listener counts its close.
  server.on("tlsClientError", (err: NodeJS.ErrnoException) => {
    if (err.code === NO_CERTIFICATE) stats.stats.fail_verify_no_cert.value++;
    else stats.stats.connection_error.value++;
  });
  return {
    handshake: (socket) => {
      server.emit("connection", socket);
    },
  };
}
