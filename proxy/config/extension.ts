import { closest } from "./hint.js";
import { show } from "./path.js";
import { Obj } from "./reader.js";
import { configBody } from "./v2.js";
import { typedConfigBody } from "./v3.js";

/** One Envoy extension we implement, under every name and type URL it has had. */
export interface ExtensionSpec {
  name: string;
  deprecatedNames: readonly string[];
  typeUrl: string;
  /** The v2 API's type URL for `typed_config` in late-v2 configs. */
  v2TypeUrl?: string;
}

/**
 * Resolve a `{name, config | typed_config}` entry (network filter, HTTP filter, access logger) to
 * one of `specs`: by `@type` when `typed_config` is given (the name is then informational, as in
 * Envoy), by name otherwise (v2 only: Envoy 1.40 finds extensions by type URL, and rejects an entry
 * without one). Returns the extension's config body (an empty mapping when none is given), or null
 * after reporting an unsupported extension. The caller reads the entry's other fields and calls
 * `entry.done()`.
 */
export function resolveExtension<K extends string>(
  entry: Obj,
  specs: Readonly<Record<K, ExtensionSpec>>,
  what: string,
): { kind: K; body: Obj } | null {
  const kinds = Object.keys(specs) as K[];
  const which = entry.oneOf(["config", "typed_config"]);
  const name = which === "typed_config" ? entry.str("name") : entry.name("name");
  if (which === "typed_config") {
    const typed = typedConfigBody(entry);
    if (typed === null) return null;
    for (const kind of kinds) {
      const spec = specs[kind];
      if (typed.typeUrl === spec.typeUrl) return { kind, body: typed.body };
      if (typed.typeUrl === spec.v2TypeUrl) {
        entry.ctx.sawV2(typed.body.at("@type"), `use ${spec.typeUrl}`);
        return { kind, body: typed.body };
      }
    }
    const urls = kinds.map((k) => specs[k].typeUrl);
    const hint =
      urls.length === 1
        ? ` (echomesh-proxy supports only ${urls[0]})`
        : ` (echomesh-proxy supports ${urls.join(", ")})`;
    typed.body.error("@type", `unsupported ${what} type ${show(typed.typeUrl)}${hint}`);
    return null;
  }
  if (name === undefined) return null;
  for (const kind of kinds) {
    const spec = specs[kind];
    if (name === spec.name || spec.deprecatedNames.includes(name)) {
      if (which === null) {
        entry.ctx.sawV2(
          entry.path,
          `${what} without typed_config; add typed_config: {"@type": ${spec.typeUrl}}`,
        );
      }
      const body = which === "config" ? configBody(entry) : new Obj(entry.ctx, entry.at("config"), {});
      return body === null ? null : { kind, body };
    }
  }
  const names = kinds.flatMap((k) => [specs[k].name, ...specs[k].deprecatedNames]);
  const typo = closest(name, names);
  const hint =
    typo === null ? ` (echomesh-proxy supports ${names.join(", ")})` : ` (did you mean ${show(typo)}?)`;
  entry.error("name", `unsupported ${what} ${show(name)}${hint}`);
  return null;
}
