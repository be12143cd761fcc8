/**
 * The bootstrap from `-c FILE` and/or `--config-yaml STRING`. When both are given, the YAML string is
 * merged over the file as Envoy does (protobuf MergeFrom: mappings merge key by key, lists append,
 * scalars replace), then the merged document is loaded.
 */
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import {
  checkConfigSize,
  loadConfigFile,
  loadConfigString,
  ProxyConfigError,
  readConfigFile,
} from "../config/load.js";
import type { Bootstrap } from "../config/model.js";

export async function loadBootstrap(
  configPath: string | null,
  configYaml: string | null,
): Promise<Bootstrap> {
  if (configYaml === null) {
    if (configPath === null)
      throw new ProxyConfigError(["no config: give -c/--config-path or --config-yaml"]);
    return loadConfigFile(configPath);
  }
  if (configPath === null) return prefixed("--config-yaml", () => loadConfigString(configYaml, "yaml"));
  const base = parseOrThrow(configPath, await readConfigFile(configPath));
  const over = parseOrThrow("--config-yaml", configYaml);
  const merged = stringifyYaml(merge(base, over));
  return prefixed(`${configPath} + --config-yaml`, () => loadConfigString(merged, "yaml"));
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
