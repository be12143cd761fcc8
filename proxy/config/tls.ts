/**
 * Envoy's TLS transport socket (`envoy.transport_sockets.tls`): a listener filter chain's
 * `transport_socket` (v3) or `tls_context` (v2) holding a DownstreamTlsContext, and a cluster's
 * `transport_socket` (v3) or `tls_context` (v2) holding an UpstreamTlsContext. Certificates, keys
 * and CAs are read here, once, when the config loads (a file that cannot be read is an error naming
 * its path), and checked by building a secure context from them. What the TLS contexts have that
 * echomesh-proxy does not implement is an error naming it, never silently ignored.
 */
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import type {
  CertificateValidation,
  CommonTlsContext,
  DownstreamTlsContext,
  SanMatcher,
  SanType,
  TlsCertificate,
  TlsVersion,
  UpstreamTlsContext,
} from "./model.js";
import { show } from "./path.js";
import { Obj } from "./reader.js";
import { stringMatcher, stringMatcherOf, typedConfigBody } from "./v3.js";

const TRANSPORT_SOCKET_NAME = "envoy.transport_sockets.tls";
export const DOWNSTREAM_TLS_CONTEXT =
  "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
export const UPSTREAM_TLS_CONTEXT =
  "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";
const V2_DOWNSTREAM = "type.googleapis.com/envoy.api.v2.auth.DownstreamTlsContext";
const V2_UPSTREAM = "type.googleapis.com/envoy.api.v2.auth.UpstreamTlsContext";

const TLS_VERSIONS = {
  TLS_AUTO: "auto",
  TLSV1_0: "TLSv1",
  TLSV1_1: "TLSv1.1",
  TLSV1_2: "TLSv1.2",
  TLSV1_3: "TLSv1.3",
} as const;
type VersionSetting = (typeof TLS_VERSIONS)[keyof typeof TLS_VERSIONS];

const SAN_TYPES = {
  DNS: "dns",
  URI: "uri",
  IP_ADDRESS: "ip",
  EMAIL: "email",
  OTHER_NAME: null,
  SAN_TYPE_UNSPECIFIED: null,
} as const;

/** Envoy 1.40's defaults (TlsParameters): TLS 1.2 to 1.3 for servers, TLS 1.2 only for clients. */
const SERVER_VERSIONS = { min: "TLSv1.2", max: "TLSv1.3" } as const;
const CLIENT_VERSIONS = { min: "TLSv1.2", max: "TLSv1.2" } as const;

/** A filter chain's `transport_socket` (v3) or `tls_context` (v2); undefined when it has neither. */
export function filterChainTls(chain: Obj): DownstreamTlsContext | null | undefined {
  return transportSocketTls(chain, DOWNSTREAM_TLS_CONTEXT, V2_DOWNSTREAM, parseDownstream);
}

/** A cluster's `transport_socket` (v3) or `tls_context` (v2); undefined when it has neither. */
export function clusterTls(c: Obj): UpstreamTlsContext | null | undefined {
  return transportSocketTls(c, UPSTREAM_TLS_CONTEXT, V2_UPSTREAM, parseUpstream);
}

/** The TLS context of a filter chain or a cluster, in either spelling, parsed by `parse`. */
function transportSocketTls<T>(
  owner: Obj,
  typeUrl: string,
  v2TypeUrl: string,
  parse: (o: Obj) => T,
): T | null | undefined {
  const which = owner.oneOf(["transport_socket", "tls_context"]);
  if (which === "tls_context") {
    owner.ctx.sawV2(owner.at("tls_context"), `use transport_socket: {name: ${TRANSPORT_SOCKET_NAME}}`);
    const o = owner.obj("tls_context");
    return o === null ? null : parse(o);
  }
  if (which === "transport_socket") {
    const body = transportSocketBody(owner, typeUrl, v2TypeUrl);
    return body === null ? null : parse(body);
  }
  return undefined;
}

/**
 * `transport_socket: {name, typed_config: {"@type": ...}}`: the TLS context's body, or null after an
 * error. As in Envoy 1.40 the type URL picks the extension (the name is informational); any other
 * transport socket is unsupported.
 */
function transportSocketBody(parent: Obj, typeUrl: string, v2TypeUrl: string): Obj | null {
  const ts = parent.obj("transport_socket");
  if (ts === null) return null;
  ts.str("name");
  ts.unsupported("config");
  const typed = ts.has("typed_config") ? typedConfigBody(ts) : null;
  ts.done();
  if (typed === null) {
    if (!ts.has("typed_config"))
      ts.error("typed_config", `required for ${TRANSPORT_SOCKET_NAME} (with "@type": ${typeUrl})`);
    return null;
  }
  if (typed.typeUrl === v2TypeUrl) {
    parent.ctx.sawV2(typed.body.at("@type"), `use ${typeUrl}`);
    return typed.body;
  }
  if (typed.typeUrl !== typeUrl) {
    typed.body.error(
      "@type",
      `unsupported transport socket type ${show(typed.typeUrl)} (echomesh-proxy supports only ${typeUrl} here)`,
    );
    return null;
  }
  return typed.body;
}

function parseDownstream(o: Obj): DownstreamTlsContext | null {
  const requireClientCertificate = o.bool("require_client_certificate", false);
  o.unsupported(
    "require_sni",
    "session_ticket_keys",
    "session_ticket_keys_sds_secret_config",
    "disable_stateless_session_resumption",
    "disable_stateful_session_resumption",
    "session_timeout",
    "ocsp_staple_policy",
    "full_scan_certs_on_sni_mismatch",
    "prefer_client_ciphers",
  );
  const common = parseCommon(o, SERVER_VERSIONS);
  o.done();
  if (common === null) return null;
  if (common.certificates.length === 0) {
    o.error("common_tls_context", "a TLS listener needs a certificate (tls_certificates)");
    return null;
  }
  return { ...common, requireClientCertificate };
}

function parseUpstream(o: Obj): UpstreamTlsContext | null {
  const sni = o.str("sni") ?? null;
  if (sni !== null && sni.length > 255) o.error("sni", "longer than 255 characters");
  o.unsupported("allow_renegotiation", "max_session_keys", "enforce_rsa_key_usage", "auto_host_sni");
  o.ignoreBecause("auto_sni_san_validation", "no auto_host_sni");
  const common = parseCommon(o, CLIENT_VERSIONS);
  o.done();
  if (common === null) return null;
  if (common.certificates.length > 1)
    o.ctx.error(
      [...o.at("common_tls_context"), "tls_certificates"],
      "a client presents one certificate at most",
    );
  return { ...common, sni };
}

function parseCommon(parent: Obj, defaults: { min: TlsVersion; max: TlsVersion }): CommonTlsContext | null {
  const c = parent.obj("common_tls_context") ?? new Obj(parent.ctx, parent.at("common_tls_context"), {});
  let ok = true;
  let minVersion: TlsVersion = defaults.min;
  let maxVersion: TlsVersion = defaults.max;
  const params = c.obj("tls_params");
  if (params !== null) {
    const min = params.enumOf<VersionSetting>("tls_minimum_protocol_version", TLS_VERSIONS, "auto");
    const max = params.enumOf<VersionSetting>("tls_maximum_protocol_version", TLS_VERSIONS, "auto");
    if (min !== "auto") minVersion = min;
    if (max !== "auto") maxVersion = max;
    if (order(minVersion) > order(maxVersion)) {
      params.error("tls_minimum_protocol_version", `is above the maximum (${minVersion} > ${maxVersion})`);
      ok = false;
    }
    params.unsupported("cipher_suites", "ecdh_curves", "signature_algorithms", "compliance_policy");
    params.done();
  }
  const certificates: TlsCertificate[] = [];
  for (const t of c.objList("tls_certificates")) {
    const cert = parseCertificate(t);
    if (cert === null) ok = false;
    else certificates.push(cert);
  }
  const alpnProtocols = c.strList("alpn_protocols");
  alpnProtocols.forEach((p, i) => {
    if (p === "" || p.length > 255) {
      c.ctx.error([...c.at("alpn_protocols"), i], "must be 1 to 255 characters");
      ok = false;
    }
  });
  const v = c.obj("validation_context");
  const validation = v === null ? null : parseValidation(v);
  if (v !== null && validation === null) ok = false;
  c.unsupported(
    "tls_certificate_sds_secret_configs",
    "tls_certificate_provider_instance",
    "tls_certificate_certificate_provider",
    "tls_certificate_certificate_provider_instance",
    "custom_tls_certificate_selector",
    "validation_context_sds_secret_config",
    "combined_validation_context",
    "validation_context_certificate_provider",
    "validation_context_certificate_provider_instance",
    "custom_handshaker",
    "key_log",
  );
  c.done();
  if (!ok) return null;
  const common: CommonTlsContext = { certificates, alpnProtocols, validation, minVersion, maxVersion };
  return checkContext(c, common) ? common : null;
}

function order(v: TlsVersion): number {
  return ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"].indexOf(v);
}

function parseCertificate(t: Obj): TlsCertificate | null {
  const chain = t.require("certificate_chain") ? dataSource(t, "certificate_chain") : null;
  const key = t.require("private_key") ? dataSource(t, "private_key") : null;
  const password = t.has("password") ? dataSource(t, "password") : null;
  t.unsupported(
    "pkey",
    "watched_directory",
    "private_key_provider",
    "ocsp_staple",
    "signed_certificate_timestamp",
    "pkcs12",
  );
  t.done();
  if (chain === null || key === null) return null;
  return { certificateChain: chain, privateKey: key, password };
}

function parseValidation(v: Obj): CertificateValidation | null {
  let ok = true;
  const trustedCa = v.has("trusted_ca") ? dataSource(v, "trusted_ca") : null;
  if (v.has("trusted_ca") && trustedCa === null) ok = false;
  const sanMatchers: SanMatcher[] = [];
  for (const m of v.objList("match_typed_subject_alt_names")) {
    const type = m.require("san_type") ? m.enumOf<SanType | "none">("san_type", SAN_TYPES, "none") : "none";
    m.unsupported("oid");
    const match = m.require("matcher") ? stringMatcher(m, "matcher") : null;
    m.done();
    if (type === "none" || match === null) ok = false;
    else sanMatchers.push({ type, match });
  }
  if (v.has("match_subject_alt_names"))
    v.ctx.deprecatedInV3(v.at("match_subject_alt_names"), "match_typed_subject_alt_names");
  for (const m of v.objList("match_subject_alt_names")) {
    const match = stringMatcherOf(m);
    if (match === null) ok = false;
    else sanMatchers.push({ type: null, match });
  }
  // v2 (Envoy 1.7): any DNS or URI SAN equal to one of these strings.
  if (v.has("verify_subject_alt_name")) {
    v.ctx.sawV2(v.at("verify_subject_alt_name"), "use match_typed_subject_alt_names");
    for (const name of v.strList("verify_subject_alt_name"))
      sanMatchers.push({ type: null, match: { kind: "exact", value: name, ignoreCase: false } });
  }
  v.enumOf("trust_chain_verification", { VERIFY_TRUST_CHAIN: "verify", ACCEPT_UNTRUSTED: null }, "verify");
  v.unsupported(
    "verify_certificate_spki",
    "verify_certificate_hash",
    "require_signed_certificate_timestamp",
    "crl",
    "allow_expired_certificate",
    "custom_validator_config",
    "only_verify_leaf_cert_crl",
    "max_verify_depth",
    "watched_directory",
    "ca_certificate_provider_instance",
    "system_root_certs",
  );
  v.done();
  if (!ok) return null;
  if (trustedCa === null && sanMatchers.length > 0) {
    v.error(
      "trusted_ca",
      "required when subject alt names are matched (Envoy refuses SAN verification without a trusted CA)",
    );
    return null;
  }
  return { trustedCa, sanMatchers };
}

/**
 * A DataSource (`filename`, `inline_string`, `inline_bytes`) at `key`, read now: the text, or null
 * after an error naming the path (a file that cannot be read included).
 */
function dataSource(parent: Obj, key: string): string | null {
  const d = parent.obj(key);
  if (d === null) return null;
  const which = d.oneOf(["filename", "inline_string", "inline_bytes", "environment_variable"], true);
  d.unsupported("environment_variable", "watched_directory");
  let out: string | null = null;
  if (which === "filename") {
    const file = d.str("filename");
    if (file === "") d.error("filename", "must not be empty");
    else if (file !== undefined) {
      try {
        out = readFileSync(file, "utf8");
      } catch (err) {
        d.error(
          "filename",
          `cannot read ${show(file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
    }
  } else if (which === "inline_string") {
    out = d.str("inline_string") ?? null;
  } else if (which === "inline_bytes") {
    const b64 = d.str("inline_bytes");
    if (b64 !== undefined) out = Buffer.from(b64, "base64").toString("utf8");
  }
  d.done();
  if (out === "") {
    d.error(which ?? null, "is empty");
    return null;
  }
  return out;
}

/**
 * Builds secure contexts once to find what OpenSSL refuses (not PEM, a key that does not match its
 * certificate, a wrong password): an error at the path of the part it refuses.
 */
function checkContext(c: Obj, common: CommonTlsContext): boolean {
  let ok = true;
  common.certificates.forEach((cert, i) => {
    try {
      createSecureContext({
        cert: cert.certificateChain,
        key: cert.privateKey,
        ...(cert.password === null ? {} : { passphrase: cert.password }),
      });
    } catch (err) {
      c.ctx.error(
        [...c.at("tls_certificates"), i],
        `not a usable certificate and key: ${(err as Error).message}`,
      );
      ok = false;
    }
  });
  const ca = common.validation?.trustedCa;
  if (ca != null) {
    try {
      createSecureContext({ ca });
    } catch (err) {
      c.ctx.error(
        [...c.at("validation_context"), "trusted_ca"],
        `not a usable CA: ${(err as Error).message}`,
      );
      ok = false;
    }
  }
  return ok;
}
