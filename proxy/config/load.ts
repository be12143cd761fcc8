import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { type Document, LineCounter, parseDocument } from "yaml";
import { parseBootstrap } from "./bootstrap.js";
import { Context } from "./context.js";
import { ProxyConfigError } from "./errors.js";
import type { Bootstrap } from "./model.js";
import { formatPath, type Issue, type Path } from "./path.js";

export { ProxyConfigError } from "./errors.js";

export type ConfigFormat = "yaml" | "json";

/**
 * Load an Envoy static bootstrap (v2 or v3, YAML or JSON) from a file: `.json` is JSON, anything
 * else YAML (JSON is valid YAML too). Rejects with ProxyConfigError listing every problem.
 */
export async function loadConfigFile(path: string): Promise<Bootstrap> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ProxyConfigError([`${path}: cannot read config file: ${(err as Error).message}`]);
  }
  try {
    return loadConfigString(text, extname(path).toLowerCase() === ".json" ? "json" : "yaml");
  } catch (err) {
    if (err instanceof ProxyConfigError) throw new ProxyConfigError(err.errors.map((e) => `${path}: ${e}`));
    throw err;
  }
}

/**
 * Load a bootstrap from text (a file's contents or `--config-yaml`). `format` defaults to JSON when
 * the text starts with `{`, else YAML. Throws ProxyConfigError listing every problem; nothing half-loads.
 * Errors read `path.to.field: message (line N)`.
 */
export function loadConfigString(text: string, format?: ConfigFormat): Bootstrap {
  const fmt = format ?? (text.trimStart().startsWith("{") ? "json" : "yaml");
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, merge: true, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ProxyConfigError(
      doc.errors.map((e) => `${fmt === "json" ? "JSON" : "YAML"} syntax error: ${e.message}`),
    );
  }
  let raw: unknown;
  if (fmt === "json") {
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new ProxyConfigError([`JSON syntax error: ${(err as Error).message}`]);
    }
  } else {
    raw = doc.toJS({ maxAliasCount: 1000 });
  }
  if (raw === null || raw === undefined) throw new ProxyConfigError(["the config is empty"]);

  const ctx = new Context();
  const parsed = parseBootstrap(ctx, raw);
  const version = ctx.settle();
  const render = (issue: Issue): string =>
    `${formatPath(issue.path)}: ${issue.message}${lineOf(doc, lines, issue.path)}`;
  if (ctx.errors.length > 0 || parsed === null) throw new ProxyConfigError(ctx.errors.map(render));
  return {
    version,
    ...parsed,
    warnings: ctx.warnings.map(render),
  };
}

/** ` (line N)` for the deepest node of `path` that exists in the document, or "". */
function lineOf(doc: Document, lines: LineCounter, path: Path): string {
  for (let n = path.length; n > 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range !== undefined) return ` (line ${lines.linePos(node.range[0]).line})`;
  }
  return "";
}
