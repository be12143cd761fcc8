/**
 * Peer certificate checks beyond the CA chain (which OpenSSL does): Envoy's subject alt name
 * matchers (`match_typed_subject_alt_names`, `match_subject_alt_names`, v2 `verify_subject_alt_name`).
 */
import type { PeerCertificate } from "node:tls";
import type { SanMatcher, SanType } from "../config/model.js";
import { matchString } from "../router/string_match.js";

/** OpenSSL's SAN prefixes (`DNS:a.test, IP Address:127.0.0.1, URI:spiffe://x, email:a@b`). */
const PREFIXES: ReadonlyArray<readonly [string, SanType]> = [
  ["DNS:", "dns"],
  ["URI:", "uri"],
  ["IP Address:", "ip"],
  ["email:", "email"],
];

/** The certificate's SANs by type; Node quotes a value holding a comma or a quote as a JSON string. */
export function subjectAltNames(cert: PeerCertificate): Array<{ type: SanType; value: string }> {
  const text = cert.subjectaltname;
  if (text === undefined || text === "") return [];
  const out: Array<{ type: SanType; value: string }> = [];
  // Entries are ", "-separated; a quoted value may itself hold ", ".
  const re = /(DNS:|URI:|IP Address:|email:|[A-Za-z ]+:)("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (let m = re.exec(text); m !== null && m[0] !== ""; m = re.exec(text)) {
    const prefix = PREFIXES.find(([p]) => p === m?.[1]);
    if (prefix === undefined) continue;
    let value = m[2] as string;
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
        continue;
      }
    }
    out.push({ type: prefix[1], value });
  }
  return out;
}

/**
 * Envoy's `DefaultCertValidator::matchSubjectAltName`: true when any matcher matches any SAN of its
 * type (a matcher without a type takes DNS, URI, email and IP SANs). A DNS SAN that is a wildcard
 * (`*.example.com`) matches an exact matcher for one label in its place, as Envoy's `dnsNameMatch`.
 */
export function matchSubjectAltNames(cert: PeerCertificate, matchers: readonly SanMatcher[]): boolean {
  const sans = subjectAltNames(cert);
  for (const m of matchers) {
    for (const san of sans) {
      if (m.type !== null && m.type !== san.type) continue;
      if (matchString(m.match, san.value)) return true;
      if (san.type === "dns" && m.match.kind === "exact" && wildcardMatch(san.value, m.match.value))
        return true;
    }
  }
  return false;
}

/** `*.example.com` against `a.example.com` (one label, never the bare suffix). */
function wildcardMatch(pattern: string, name: string): boolean {
  if (!pattern.startsWith("*.")) return false;
  const suffix = pattern.slice(1).toLowerCase();
  const lower = name.toLowerCase();
  if (!lower.endsWith(suffix)) return false;
  const label = lower.slice(0, lower.length - suffix.length);
  return label.length > 0 && !label.includes(".");
}
