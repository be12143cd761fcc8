/**
 * File-based LDS/CDS for the drivers: a proxy's DiscoveryResponse files live in one directory, which
 * the config names as XDS_DIR (the container driver bind-mounts the host directory there, so a
 * rename on the host is a rename inside the container; the process driver rewrites the paths).
 * A file is rendered for the target like the config (addresses, DNS, v2 or v3) and written
 * atomically: a temporary file in the same directory, renamed over the old one.
 */
import { chmodSync, mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { clone, socketAddresses } from "../../lib/topology/envoy_doc.js";
import { discoveryFile } from "../../lib/topology/envoy_v3.js";
import type { AddressRewrite } from "./render.js";
import type { DiscoveryDoc, EnvoyDoc, Target } from "./types.js";

type Obj = Record<string, unknown>;

/** Where a config names its LDS/CDS files (inside a container; the process driver rewrites it). */
export const XDS_DIR = "/etc/echomesh-xds";

/** A fresh directory for one proxy's files, readable by the container's user. */
export function xdsDir(parent: string, label: string): string {
  const dir = mkdtempSync(join(parent, `xds-${label}-`));
  chmodSync(dir, 0o755);
  return dir;
}

/** The config with its XDS_DIR paths pointing at `dir` (the process driver). */
export function withXdsDir(doc: EnvoyDoc, dir: string): EnvoyDoc {
  const out = clone(doc);
  const dynamic = out.dynamic_resources as Record<string, Obj> | undefined;
  for (const source of Object.values(dynamic ?? {})) {
    if (typeof source.path === "string" && source.path.startsWith(`${XDS_DIR}/`))
      source.path = join(dir, source.path.slice(XDS_DIR.length + 1));
  }
  return out;
}

/** A discovery doc's resources as a bootstrap, so the config's rewrites (DNS, names) apply to them. */
export function asBootstrap(doc: DiscoveryDoc): EnvoyDoc {
  return {
    static_resources: {
      listeners: doc.kind === "listener" ? clone(doc.resources) : [],
      clusters: doc.kind === "cluster" ? clone(doc.resources) : [],
    },
  };
}

/**
 * The file's text for `target`: `prepare` gets the resources as a bootstrap (the process driver
 * points DNS clusters at its DNS server), then addresses and ports are rewritten as the config's.
 */
export function renderDiscovery(
  doc: DiscoveryDoc,
  target: Target,
  prepare: (bootstrap: EnvoyDoc) => EnvoyDoc = (b) => b,
  rewrite: AddressRewrite = {},
): string {
  const b = prepare(asBootstrap(doc));
  for (const sa of socketAddresses(b)) {
    const address = rewrite.address?.(String(sa.address));
    if (address !== undefined) sa.address = address;
    const port = rewrite.port?.(Number(sa.port_value));
    if (port !== undefined) sa.port_value = port;
  }
  const sr = b.static_resources as { listeners: Obj[]; clusters: Obj[] };
  const resources = doc.kind === "listener" ? sr.listeners : sr.clusters;
  return stringify(
    discoveryFile(doc.kind, doc.versionInfo, resources, target.dialect === "envoy-v3" ? "v3" : "v2"),
  );
}

/** Write `text` to `dir/name` as Envoy wants a file replaced: write beside it, rename over it. */
export function writeAtomically(dir: string, name: string, text: string): void {
  const tmp = join(dir, `.${name}.${process.pid}.${Date.now()}.tmp`);
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, join(dir, name));
}
