import { X509Certificate } from "node:crypto";
import type { DetailedPeerCertificate, TLSSocket } from "node:tls";
import type { EchoRequest } from "../exchange.js";

/**
 * The JSON view's `tls` object: Gateway API echo-basic's fields (its TLSAssertions), plus the client
 * certificate's subject and subjectAltName, which mTLS tests check. Absent on plaintext.
 */
export interface TlsView {
  /** `TLSv1.3`, `TLSv1.2`. */
  version: string;
  /** IANA name, as Go reports it: `TLS_AES_256_GCM_SHA384`, `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`. */
  cipherSuite: string;
  /** What ALPN chose: `h2`, `http/1.1`, or "" when the client offered none. */
  negotiatedProtocol: string;
  /** The SNI the client sent, "" when none. */
  serverName: string;
  /** The client's certificate chain, leaf first, PEM (no self-signed root); absent when none was presented. */
  peerCertificates?: string[];
  /** The client certificate's subject, OpenSSL order, comma-separated (`CN=client`). */
  peerSubject?: string;
  /** Its subjectAltName as OpenSSL prints it (`DNS:client, URI:spiffe://mesh/echo`). */
  peerSubjectAltName?: string;
}

/** The TLS facts of the connection `req` came on, or undefined on plaintext. */
export function tlsView(req: EchoRequest): TlsView | undefined {
  // Over HTTP/2 `req.socket` is node:http2's proxy of the session's socket: reads pass through.
  const socket = req.socket as TLSSocket | undefined;
  if (socket?.encrypted !== true) return undefined;
  const view: TlsView = {
    version: socket.getProtocol() ?? "",
    cipherSuite: socket.getCipher()?.standardName ?? "",
    negotiatedProtocol: socket.alpnProtocol || "",
    serverName: (socket as TLSSocket & { servername?: string | false }).servername || "",
  };
  const peer = socket.getPeerCertificate(true);
  if (peer?.raw === undefined) return view;
  const leaf = new X509Certificate(peer.raw);
  view.peerCertificates = chain(peer);
  view.peerSubject = leaf.subject.split("\n").join(", ");
  if (leaf.subjectAltName !== undefined) view.peerSubjectAltName = leaf.subjectAltName;
  return view;
}

/** PEM of the peer's certificate and its issuers, up to a self-signed root (left out unless it is the leaf). */
function chain(leaf: DetailedPeerCertificate): string[] {
  const pems = [new X509Certificate(leaf.raw).toString()];
  let cert = leaf;
  // Node ends the chain with the root, whose issuerCertificate is itself.
  while (cert.issuerCertificate !== undefined && cert.issuerCertificate !== cert && pems.length < 10) {
    const issuer = cert.issuerCertificate;
    if (issuer.issuerCertificate === issuer) break;
    pems.push(new X509Certificate(issuer.raw).toString());
    cert = issuer;
  }
  return pems;
}
