/**
 * The echo's TLS port: a TCP listener whose connections node:tls handshakes (certificates, ALPN,
 * client-certificate checks from tls.ts), then hands to the HTTP/2 server when ALPN chose `h2` and to
 * the HTTP/1.1 front otherwise: the same servers, routes and bookkeeping as the plain port.
 */
import net, { type Socket } from "node:net";
import tls, { type TLSSocket, type TlsOptions } from "node:tls";
import { ignoreErrorHandledOnClose } from "../lib/errors.js";
import type { EchoContext } from "./state.js";
import { linkTcp } from "./tls.js";

/** Where the TLS port's connections go. */
export interface TlsPortHooks {
  /** A new TCP connection (tracked until it closes, and pending until `handshakeDone`). */
  accepted(tcp: Socket): void;
  /** Its handshake succeeded: the connection now belongs to an HTTP server. */
  handshakeDone(tcp: Socket): void;
  /** ALPN chose h2. */
  h2(socket: TLSSocket): void;
  /** ALPN chose http/1.1, or the client offered none. */
  http1(socket: TLSSocket): void;
}

/** The TLS port's listener (not yet listening). */
export function createTlsPort(options: TlsOptions, ctx: EchoContext, hooks: TlsPortHooks): net.Server {
  const tlsServer = tls.createServer(options);
  /** TCP sockets in their handshake, by peer address, to find the one under each TLS socket. */
  const handshaking = new Map<string, Socket>();
  tlsServer.on("secureConnection", (socket: TLSSocket) => {
    socket.on("error", ignoreErrorHandledOnClose);
    const key = peerKey(socket);
    const tcp = handshaking.get(key);
    if (tcp !== undefined) {
      handshaking.delete(key);
      linkTcp(socket, tcp);
      hooks.handshakeDone(tcp);
    }
    if (socket.alpnProtocol === "h2") hooks.h2(socket);
    else hooks.http1(socket);
  });
  // A failed handshake (no client certificate, plaintext, a client gone, 120 s without a handshake):
  // node:tls has destroyed the socket; the TCP socket's 'close' ends its bookkeeping.
  tlsServer.on("tlsClientError", (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    ctx.metrics.tlsHandshakeErrors.inc();
    if (ctx.config.accessLog)
      ctx.logger.info(
        { remote: socket.remoteAddress, error: err.code ?? err.message },
        "tls handshake failed",
      );
  });
  return net.createServer({ noDelay: true }, (tcp) => {
    hooks.accepted(tcp);
    const key = peerKey(tcp);
    handshaking.set(key, tcp);
    tcp.on("close", () => handshaking.delete(key));
    tlsServer.emit("connection", tcp);
  });
}

function peerKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}
