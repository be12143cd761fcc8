/**
 * The upstream TLS transport socket (Envoy's `ClientSslSocketFactory`): a cluster's TLS context. A
 * connected TCP socket is wrapped in a TLS client (SNI from `sni`, ALPN from `alpn_protocols`, the
 * client certificate of `tls_certificates` for mTLS); the server's certificate is verified only when
 * the `validation_context` has a `trusted_ca` (Envoy verifies nothing without one): it must chain
 * to the CA and match a SAN matcher, if any. The host name is never checked against the certificate
 * (Envoy does not either: SAN matchers say what to accept). Handshake failures count in
 * `cluster.<name>.ssl.*`; the pool sees them as connect failures.
 */
import type { Socket } from "node:net";
import { connect, createSecureContext, type SecureContext, type TLSSocket } from "node:tls";
import type { UpstreamProtocol, UpstreamTlsContext } from "../config/model.js";
import type { SslStats } from "./stats.js";
import { matchSubjectAltNames } from "./verify.js";

/** One cluster's TLS for connections of one protocol (its ALPN). */
export interface UpstreamTls {
  /**
   * Starts the handshake on a connected socket: `cb` once, with the TLS socket when it succeeded
   * and passed verification, else with why it failed (the TLS socket is destroyed then).
   */
  handshake(socket: Socket, cb: (failure: string | null, secure: TLSSocket) => void): TLSSocket;
}

/**
 * The host name check Node does by default: Envoy has none (its SAN matchers decide), so none here.
 * Returns no error for any name.
 */
function noHostnameCheck(): undefined {
  return undefined;
}

/** The secure context of each cluster's TLS config, built once (both protocols of a cluster share it). */
const contexts = new WeakMap<UpstreamTlsContext, SecureContext>();

function secureContextOf(config: UpstreamTlsContext): SecureContext {
  let ctx = contexts.get(config);
  if (ctx === undefined) {
    const cert = config.certificates[0];
    const ca = config.validation?.trustedCa ?? null;
    ctx = createSecureContext({
      ...(cert === undefined
        ? {}
        : {
            cert: cert.certificateChain,
            key: cert.privateKey,
            ...(cert.password === null ? {} : { passphrase: cert.password }),
          }),
      ...(ca === null ? {} : { ca }),
      minVersion: config.minVersion,
      maxVersion: config.maxVersion,
    });
    contexts.set(config, ctx);
  }
  return ctx;
}

/**
 * The ALPN a connection offers: `alpn_protocols` as configured; without them, the protocol the pool
 * speaks (`h2` for an HTTP/2 cluster, `http/1.1` otherwise), as Envoy 1.40 offers.
 */
export function upstreamAlpn(config: UpstreamTlsContext, protocol: UpstreamProtocol): string[] {
  if (config.alpnProtocols.length > 0) return config.alpnProtocols;
  return protocol === "http2" ? ["h2"] : ["http/1.1"];
}

export function createUpstreamTls(
  config: UpstreamTlsContext,
  protocol: UpstreamProtocol,
  stats: SslStats,
): UpstreamTls {
  const secureContext = secureContextOf(config);
  const verify = config.validation?.trustedCa != null;
  const sanMatchers = config.validation?.sanMatchers ?? [];
  const alpn = upstreamAlpn(config, protocol);
  const s = stats.stats;
  return {
    handshake(socket, cb) {
      let done = false;
      const secure = connect({
        socket,
        secureContext,
        ...(config.sni === null ? {} : { servername: config.sni }),
        ALPNProtocols: alpn,
        rejectUnauthorized: false,
        checkServerIdentity: noHostnameCheck,
      });
      const finish = (failure: string | null): void => {
        if (done) return;
        done = true;
        secure.removeListener("error", onError);
        if (failure !== null) {
          // Its own listener stays: a TLS socket may emit once more while it is torn down.
          secure.on("error", onError);
          secure.destroy();
        }
        cb(failure, secure);
      };
      const onError = (err: NodeJS.ErrnoException): void => {
        if (done) return;
        s.connection_error.value++;
        finish(`TLS error: ${err.code ?? err.message}`);
      };
      secure.on("error", onError);
      secure.once("secureConnect", () => {
        const peer = secure.getPeerCertificate();
        if (verify && !secure.authorized) {
          s.fail_verify_error.value++;
          finish(`TLS error: ${secure.authorizationError ?? "CERTIFICATE_VERIFY_FAILED"}`);
          return;
        }
        if (verify && sanMatchers.length > 0 && !matchSubjectAltNames(peer, sanMatchers)) {
          s.fail_verify_san.value++;
          finish("TLS error: certificate SAN does not match");
          return;
        }
        stats.countHandshake(secure, peer.raw !== undefined);
        finish(null);
      });
      // Closed before the handshake ended (the TCP peer went away): a connection error.
      secure.once("close", () => {
        if (done) return;
        s.connection_error.value++;
        finish("TLS error: connection closed during the handshake");
      });
      return secure;
    },
  };
}
