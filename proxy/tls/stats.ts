/**
 * Envoy's TLS stats (`ALL_SSL_STATS`), under `listener.<address>.ssl.` for a TLS listener and
 * `cluster.<name>.ssl.` for a TLS cluster; created only where a TLS context is, as in Envoy.
 */
import type { TLSSocket } from "node:tls";
import { counter, declareScope, type ResolvedScope, resolveScope, type StatsOf } from "../stats/declare.js";
import type { Counter, StatsStore } from "../stats/store.js";

const SSL_STATS = {
  handshake: counter("TLS handshakes that succeeded (and passed certificate verification)"),
  connection_error: counter(
    "TLS connections that failed before or during the handshake, failed certificate verifications aside",
  ),
  no_certificate: counter("Successful TLS connections whose peer presented no certificate"),
  fail_verify_no_cert: counter("TLS connections refused because a required client certificate was missing"),
  fail_verify_error: counter("TLS connections refused because the peer's certificate failed CA verification"),
  fail_verify_san: counter("TLS connections refused because no subject alt name of the peer matched"),
  session_reused: counter("TLS sessions resumed"),
};
const SSL_PATTERNS = {
  "versions.<version>": counter("Successful handshakes by TLS version (`TLSv1.3`)"),
  "ciphers.<cipher>": counter("Successful handshakes by cipher suite"),
};

export const LISTENER_SSL_STATS = declareScope({
  prefix: "listener.<address>.ssl.",
  title: "TLS listener",
  stats: SSL_STATS,
  patterns: SSL_PATTERNS,
});

export const CLUSTER_SSL_STATS = declareScope({
  prefix: "cluster.<name>.ssl.",
  title: "TLS cluster (upstream)",
  stats: SSL_STATS,
  patterns: SSL_PATTERNS,
});

type Scope = ResolvedScope<typeof SSL_STATS, typeof SSL_PATTERNS>;

/** One TLS context's stats; `countHandshake` resolves a version's or cipher's counter once. */
export class SslStats {
  readonly stats: StatsOf<typeof SSL_STATS>;
  private readonly byName = new Map<string, Counter>();

  constructor(private readonly scope: Scope) {
    this.stats = scope.stats;
  }

  /** A handshake that succeeded and passed verification: `handshake`, `versions.*`, `ciphers.*`. */
  countHandshake(socket: TLSSocket, peerCertificate: boolean): void {
    this.stats.handshake.value++;
    if (!peerCertificate) this.stats.no_certificate.value++;
    if (socket.isSessionReused()) this.stats.session_reused.value++;
    const version = socket.getProtocol();
    if (version !== null) this.named("versions.<version>", version).value++;
    const cipher = socket.getCipher()?.name;
    if (cipher !== undefined) this.named("ciphers.<cipher>", cipher).value++;
  }

  private named(pattern: keyof typeof SSL_PATTERNS, value: string): Counter {
    const key = `${pattern}\0${value}`;
    let c = this.byName.get(key);
    if (c === undefined) {
      c = this.scope.patternCounter(pattern, value);
      this.byName.set(key, c);
    }
    return c;
  }
}

export function listenerSslStats(store: StatsStore, address: string): SslStats {
  return new SslStats(resolveScope(store, LISTENER_SSL_STATS, address));
}

export function clusterSslStats(store: StatsStore, cluster: string): SslStats {
  return new SslStats(resolveScope(store, CLUSTER_SSL_STATS, cluster));
}
