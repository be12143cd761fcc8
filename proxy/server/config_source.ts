/**
 * The bootstrap from `-c FILE` and/or `--config-yaml STRING`. When both are given, the YAML string is
 * merged over the file as Envoy does (protobuf MergeFrom: mappings merge key by key, lists append,
 * scalars replace), then the merged document is loaded.
 */
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { Context } from "../config/context.js";
import {
  type DiscoveryFile,
  DiscoveryFileError,
  parseDiscoveryFile,
  type ResourceKind,
} from "../config/dynamic_resources.js";
import {
  checkConfigSize,
  loadConfigFile,
  loadConfigString,
  ProxyConfigError,
  readConfigFile,
} from "../config/load.js";
import type { Bootstrap } from "../config/model.js";
import { formatPath } from "../config/path.js";

export async function loadBootstrap(
  configPath: string | null,
  configYaml: string | null,
): Promise<Bootstrap> {
  const { bootstrap, source, text } = await loadStatic(configPath, configYaml);
  const dynamic = bootstrap.dynamicResources;
  if (dynamic === undefined || (dynamic.lds === null && dynamic.cds === null)) return bootstrap;
  const lds = dynamic.lds === null ? null : await readDiscovery(dynamic.lds.path, "listener");
  const cds = dynamic.cds === null ? null : await readDiscovery(dynamic.cds.path, "cluster");
  return composeWithResources({ bootstrap, source, text }, lds, cds);
}

/** The bootstrap alone (file, --config-yaml or both merged), its source label and its text. */
export interface StaticConfig {
  bootstrap: Bootstrap;
  source: string;
  text: string;
}

/** The bootstrap alone (file, --config-yaml or both merged), its source label and its text. */
export async function loadStatic(
  configPath: string | null,
  configYaml: string | null,
): Promise<StaticConfig> {
  if (configYaml === null) {
    if (configPath === null)
      throw new ProxyConfigError(["no config: give -c/--config-path or --config-yaml"]);
    const text = await readConfigFile(configPath);
    return { bootstrap: await loadConfigFile(configPath), source: configPath, text };
  }
  if (configPath === null)
    return {
      bootstrap: prefixed("--config-yaml", () => loadConfigString(configYaml, "yaml")),
      source: "--config-yaml",
      text: configYaml,
    };
  const base = parseOrThrow(configPath, await readConfigFile(configPath));
  const over = parseOrThrow("--config-yaml", configYaml);
  const merged = stringifyYaml(merge(base, over));
  const source = `${configPath} + --config-yaml`;
  return { bootstrap: prefixed(source, () => loadConfigString(merged, "yaml")), source, text: merged };
}

/** A DiscoveryResponse file read and parsed; its problems prefixed with its path. */
export interface LoadedDiscovery {
  path: string;
  file: DiscoveryFile;
}

/**
 * Reads and parses an LDS/CDS file. A file that cannot be read or parsed throws DiscoveryFileError
 * (Envoy's `update_failure`), a wrong shape ProxyConfigError (`update_rejected`).
 */
export async function readDiscovery(path: string, kind: ResourceKind): Promise<LoadedDiscovery> {
  let text: string;
  try {
    text = await readConfigFile(path);
  } catch (err) {
    throw new DiscoveryFileError(err instanceof ProxyConfigError ? err.errors.join("; ") : String(err));
  }
  const ctx = new Context();
  let file: DiscoveryFile;
  try {
    file = parseDiscoveryFile(ctx, text, kind);
  } catch (err) {
    if (err instanceof DiscoveryFileError) throw new DiscoveryFileError(`${path}: ${err.errors[0]}`);
    throw err;
  }
  if (ctx.errors.length > 0)
    throw new ProxyConfigError(ctx.errors.map((e) => `${path}: ${formatPath(e.path)}: ${e.message}`));
  return { path, file };
}

/**
 * The bootstrap with the files' listeners and clusters added to its static ones, validated as one
 * config (duplicate names, routes naming clusters). Errors in a resource name its file and index.
 */
export function composeWithResources(
  { bootstrap, source, text }: StaticConfig,
  lds: LoadedDiscovery | null,
  cds: LoadedDiscovery | null,
  checkRoutes = true,
): Bootstrap {
  // Without its dynamic_resources (read already), routes are checked against every cluster, the
  // CDS file's included, as Envoy checks a listener's (`route: unknown cluster`). A CDS update
  // (`checkRoutes` false) is not checked against the routes: Envoy accepts a CDS file that
  // removes a cluster a route names (that route answers 503 NC).
  const parsed = (parseYaml(text) ?? {}) as Record<string, unknown>;
  const { dynamic_resources: _sources, ...withoutSources } = parsed;
  const raw = checkRoutes ? withoutSources : parsed;
  const sr = { ...((raw.static_resources as Record<string, unknown> | undefined) ?? {}) };
  const staticListeners = (sr.listeners as unknown[] | undefined) ?? [];
  const staticClusters = (sr.clusters as unknown[] | undefined) ?? [];
  sr.listeners = [...staticListeners, ...(lds?.file.resources ?? [])];
  sr.clusters = [...staticClusters, ...(cds?.file.resources ?? [])];
  const composed = JSON.stringify({ ...raw, static_resources: sr });
  const remap = (line: string): string => {
    const m = /^static_resources\.(listeners|clusters)\[(\d+)\](.*?)(?: \(line \d+\))?$/.exec(line);
    if (m === null) return `${source}: ${line.replace(/ \(line \d+\)$/, "")}`;
    const index = Number(m[2]);
    const statics = m[1] === "listeners" ? staticListeners.length : staticClusters.length;
    const file = m[1] === "listeners" ? lds : cds;
    if (index < statics || file === null) return `${source}: ${line.replace(/ \(line \d+\)$/, "")}`;
    return `${file.path}: resources[${index - statics}]${m[3]}`;
  };
  let loaded: Bootstrap;
  try {
    loaded = loadConfigString(composed, "json");
  } catch (err) {
    if (err instanceof ProxyConfigError) throw new ProxyConfigError(err.errors.map(remap));
    throw err;
  }
  const names = (list: Record<string, unknown>[] | undefined) =>
    (list ?? []).map((r) => r.name).filter((n): n is string => typeof n === "string");
  return {
    ...loaded,
    ...(bootstrap.dynamicResources === undefined ? {} : { dynamicResources: bootstrap.dynamicResources }),
    // The bootstrap's own warnings as its first reading put them (with lines), then the files'.
    warnings: [
      ...(bootstrap.warnings ?? []),
      ...(loaded.warnings ?? [])
        .map(remap)
        .filter((w) => [lds, cds].some((f) => f !== null && w.startsWith(`${f.path}: `))),
    ],
    dynamic: {
      ldsVersion: lds?.file.versionInfo ?? null,
      cdsVersion: cds?.file.versionInfo ?? null,
      apiListeners: names(lds?.file.resources),
      apiClusters: names(cds?.file.resources),
    },
  };
}

function parseOrThrow(source: string, text: string): unknown {
  prefixed(source, () => checkConfigSize(text));
  try {
    return parseYaml(text) as unknown;
  } catch (err) {
    throw new ProxyConfigError([`${source}: YAML syntax error: ${(err as Error).message}`]);
  }
}

/** `load()`, its config errors prefixed with `source`. */
function prefixed<T>(source: string, load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ProxyConfigError) throw new ProxyConfigError(err.errors.map((e) => `${source}: ${e}`));
    throw err;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** protobuf MergeFrom on plain YAML values. */
export function merge(base: unknown, over: unknown): unknown {
  if (over === null || over === undefined) return base;
  if (Array.isArray(base) && Array.isArray(over)) return [...base, ...over];
  if (isObject(base) && isObject(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = k in base ? merge(base[k], v) : v;
    return out;
  }
  return over;
}
