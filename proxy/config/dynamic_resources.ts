/**
 * File-based dynamic resources, as Envoy reads them: the bootstrap's `dynamic_resources` with
 * `lds_config` / `cds_config` pointing at a file (`path_config_source: {path, watched_directory}` in
 * v3; `path` in v2, deprecated in v3), each file a DiscoveryResponse (`version_info`, `resources`,
 * each resource an Any whose `@type` is the Listener or Cluster type, v3 or v2). ADS and gRPC/REST
 * sources are refused with a clear message.
 *
 * The listeners and clusters of the files join the static ones: `composeWithResources` adds them to
 * a copy of the bootstrap document and loads it again, so they are validated exactly as static ones
 * (cross references included); errors name the file and `resources[i]`.
 */
import { parse as parseYaml } from "yaml";
import type { Context } from "./context.js";
import { ProxyConfigError } from "./errors.js";
import type { DynamicResourcesConfig, PathConfigSource } from "./model.js";
import { Obj } from "./reader.js";

export type ResourceKind = "listener" | "cluster";

/** The `@type` a resource of each kind may carry: v3 (Envoy 1.40) and v2 (Envoy of 2018). */
export const RESOURCE_TYPES: Record<ResourceKind, readonly string[]> = {
  listener: [
    "type.googleapis.com/envoy.config.listener.v3.Listener",
    "type.googleapis.com/envoy.api.v2.Listener",
  ],
  cluster: [
    "type.googleapis.com/envoy.config.cluster.v3.Cluster",
    "type.googleapis.com/envoy.api.v2.Cluster",
  ],
};

/** `dynamic_resources`: file sources for LDS and CDS; everything else is refused. */
export function parseDynamicResources(d: Obj): DynamicResourcesConfig {
  const lds = configSource(d.obj("lds_config"));
  const cds = configSource(d.obj("cds_config"));
  for (const key of ["ads_config", "lds_resources_locator", "cds_resources_locator"]) {
    if (d.has(key)) d.error(key, "unsupported: only file-based LDS/CDS (path_config_source) is implemented");
  }
  d.done();
  return { lds, cds };
}

function configSource(c: Obj | null): PathConfigSource | null {
  if (c === null) return null;
  for (const key of ["api_config_source", "ads", "self", "authorities"]) {
    if (c.has(key))
      c.error(key, "unsupported: only file-based config sources (path_config_source, path) are implemented");
  }
  c.ignoreBecause("initial_fetch_timeout", "a file is read at once");
  const version = c.str("resource_api_version");
  if (version !== undefined && !["AUTO", "V2", "V3"].includes(version))
    c.error("resource_api_version", `expected AUTO, V2 or V3, got ${JSON.stringify(version)}`);
  const which = c.oneOf(["path", "path_config_source"]);
  let out: PathConfigSource | null = null;
  if (which === "path") {
    c.ctx.deprecatedInV3(c.at("path"), "path_config_source: {path}");
    const path = c.str("path");
    if (path !== undefined) out = { path: nonEmpty(c, "path", path), watchedDirectory: null };
  } else if (which === "path_config_source") {
    const p = c.obj("path_config_source");
    if (p !== null) {
      const path = p.str("path");
      const dir = p.obj("watched_directory");
      const watched = dir?.str("path") ?? null;
      if (dir !== null && watched === null) dir.error("path", "required field is missing");
      dir?.done();
      if (path === undefined) p.error("path", "required field is missing");
      p.done();
      if (path !== undefined) out = { path: nonEmpty(p, "path", path), watchedDirectory: watched };
    }
  } else if (!c.has("api_config_source") && !c.has("ads") && !c.has("self")) {
    c.error(null, "a config source needs path_config_source (or path)");
  }
  c.done();
  return out;
}

function nonEmpty(o: Obj, key: string, value: string): string {
  if (value === "") o.error(key, "must not be empty");
  return value;
}

/**
 * An LDS/CDS file that cannot be read or parsed (Envoy counts `update_failure`), as opposed to one
 * that is parsed and rejected (a plain ProxyConfigError, `update_rejected`).
 */
export class DiscoveryFileError extends ProxyConfigError {
  constructor(problem: string) {
    super([problem]);
  }
}

/** One DiscoveryResponse file. */
export interface DiscoveryFile {
  versionInfo: string;
  /** The resources without their `@type`, in file order. */
  resources: Record<string, unknown>[];
}

/**
 * Parses a DiscoveryResponse file's text. Unparseable text throws DiscoveryFileError (a failure);
 * a wrong shape or type is reported to `ctx` at `resources[i]` (a rejection).
 */
export function parseDiscoveryFile(ctx: Context, text: string, kind: ResourceKind): DiscoveryFile {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 1000 }) as unknown;
  } catch (err) {
    throw new DiscoveryFileError(`syntax error: ${(err as Error).message.split("\n")[0]}`);
  }
  const root = Obj.of(ctx, [], raw ?? {});
  if (root === null) return { versionInfo: "", resources: [] };
  const versionInfo = root.str("version_info") ?? "";
  const typeUrl = root.str("type_url");
  if (typeUrl !== undefined && typeUrl !== "" && !RESOURCE_TYPES[kind].includes(typeUrl))
    root.error("type_url", `expected ${RESOURCE_TYPES[kind][0]}, got ${JSON.stringify(typeUrl)}`);
  root.ignore("nonce", "canary", "control_plane");
  const resources: Record<string, unknown>[] = [];
  for (const item of root.list("resources")) {
    const r = Obj.of(ctx, item.path, item.value);
    if (r === null) continue;
    const type = r.raw["@type"];
    if (typeof type !== "string" || !RESOURCE_TYPES[kind].includes(type)) {
      ctx.error(
        [...item.path, "@type"],
        `expected ${RESOURCE_TYPES[kind].join(" or ")}, got ${JSON.stringify(type ?? null)}`,
      );
      continue;
    }
    if (type.includes(".v3.")) ctx.sawV3();
    const { "@type": _type, ...rest } = r.raw;
    resources.push(rest);
  }
  root.done();
  return { versionInfo, resources };
}
