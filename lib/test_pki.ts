/**
 * A throw-away PKI for tests, the conformance suite and the bench: one CA and the leaf certificates
 * issued by it, made with the `openssl` CLI into a folder the caller owns (a temp dir). Nothing here
 * is committed: every run makes fresh keys (EC P-256, valid two days).
 */
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A certificate and its key, as PEM file paths. */
export interface CertFiles {
  cert: string;
  key: string;
}

export interface LeafOptions {
  /** DNS names for subjectAltName (also the default CN: the first one). */
  dns?: readonly string[];
  /** IP addresses for subjectAltName. */
  ips?: readonly string[];
  /** URI SANs (SPIFFE ids, as meshes use). */
  uris?: readonly string[];
  /** Subject common name; default the first DNS name or the leaf's file name. */
  cn?: string;
}

export interface TestPki {
  /** The folder holding every file. */
  dir: string;
  /** The CA's certificate (the trusted CA of a `validation_context`). */
  ca: string;
  /** Issues a leaf signed by the CA, usable for both server and client auth: `<dir>/<name>.{crt,key}`. */
  issue(name: string, options?: LeafOptions): Promise<CertFiles>;
}

const KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args, { timeout: 30_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") throw new Error("test certificates need the openssl CLI on PATH");
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** Makes a CA named `cn` in `dir` (created if missing). */
export async function createTestPki(dir: string, cn = "echomesh test CA"): Promise<TestPki> {
  await mkdir(dir, { recursive: true });
  const ca = join(dir, `${fileName(cn)}.crt`);
  const caKey = join(dir, `${fileName(cn)}.key`);
  await openssl([
    "req",
    "-x509",
    ...KEY,
    "-keyout",
    caKey,
    "-out",
    ca,
    "-days",
    "2",
    "-subj",
    `/CN=${cn}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  let serial = 0;
  return {
    dir,
    ca,
    async issue(name, options = {}) {
      const base = join(dir, fileName(name));
      const files = { cert: `${base}.crt`, key: `${base}.key` };
      const cn = options.cn ?? options.dns?.[0] ?? name;
      await openssl(["req", ...KEY, "-keyout", files.key, "-out", `${base}.csr`, "-subj", `/CN=${cn}`]);
      const sans = [
        ...(options.dns ?? []).map((d) => `DNS:${d}`),
        ...(options.ips ?? []).map((ip) => `IP:${ip}`),
        ...(options.uris ?? []).map((u) => `URI:${u}`),
      ];
      const ext = [
        "basicConstraints=CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth,clientAuth",
        ...(sans.length > 0 ? [`subjectAltName=${sans.join(",")}`] : []),
      ];
      await writeFile(`${base}.ext`, `${ext.join("\n")}\n`);
      serial += 1;
      await openssl([
        "x509",
        "-req",
        "-in",
        `${base}.csr`,
        "-CA",
        ca,
        "-CAkey",
        caKey,
        "-set_serial",
        String(Date.now() * 100 + serial),
        "-days",
        "2",
        "-extfile",
        `${base}.ext`,
        "-out",
        files.cert,
      ]);
      return files;
    },
  };
}

function fileName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, "_");
}
