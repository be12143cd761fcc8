import { type FileHandle, open } from "node:fs/promises";
import { extname } from "node:path";
import { Composer, type CST, type Document, isScalar, LineCounter, Parser, visit } from "yaml";
import { parseBootstrap } from "./bootstrap.js";
import { Context } from "./context.js";
import { ProxyConfigError } from "./errors.js";
import type { Bootstrap } from "./model.js";
import { formatPath, type Issue, type Path } from "./path.js";

export { ProxyConfigError } from "./errors.js";

export type ConfigFormat = "yaml" | "json";

/**
 * The largest config (file, `--config-yaml` string, or the two merged) the proxy reads: 16 MiB, about
 * 150,000 clusters written one per line. A larger one is refused before it is parsed: YAML parses at
 * about 1 MB/s and 100 MB of memory per MB (JSON is ten times cheaper). Envoy has no limit: a 50 MB
 * string took it 6.4 s and 620 MB, 100,000 clusters 45 s and 3.3 GB.
 */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/**
 * Load an Envoy static bootstrap (v2 or v3, YAML or JSON) from a file: `.json` is JSON, anything
 * else YAML (JSON is valid YAML too). Rejects with ProxyConfigError listing every problem.
 */
export async function loadConfigFile(path: string): Promise<Bootstrap> {
  const text = await readConfigFile(path);
  try {
    return loadConfigString(text, extname(path).toLowerCase() === ".json" ? "json" : "yaml");
  } catch (err) {
    if (err instanceof ProxyConfigError) throw new ProxyConfigError(err.errors.map((e) => `${path}: ${e}`));
    throw err;
  }
}

/**
 * A config file's text; rejects with ProxyConfigError when it cannot be read or is larger than
 * MAX_CONFIG_BYTES (a regular file is refused by its size before reading, a pipe once it passes it).
 */
export async function readConfigFile(path: string): Promise<string> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, "r");
    const stat = await handle.stat();
    if (stat.size > MAX_CONFIG_BYTES) throw tooLarge(`${stat.size} bytes`);
    if (stat.isFile()) return await handle.readFile("utf8");
    // A pipe or a device has no size: read it in chunks, up to the limit.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const { bytesRead, buffer } = await handle.read({ buffer: Buffer.alloc(65_536) });
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_CONFIG_BYTES) throw tooLarge(null);
      chunks.push(buffer.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, total).toString("utf8");
  } catch (err) {
    if (err instanceof ProxyConfigError) throw new ProxyConfigError(err.errors.map((e) => `${path}: ${e}`));
    throw new ProxyConfigError([`${path}: cannot read config file: ${(err as Error).message}`]);
  } finally {
    await handle?.close();
  }
}

/** Throws ProxyConfigError when `text` is larger than MAX_CONFIG_BYTES. */
export function checkConfigSize(text: string): void {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: only a long text needs its bytes counted.
  if (text.length <= MAX_CONFIG_BYTES / 3) return;
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_CONFIG_BYTES) throw tooLarge(`${bytes} bytes`);
}

/** `size`: what was measured (`52428800 bytes`), null when reading stopped at the limit. */
function tooLarge(size: string | null): ProxyConfigError {
  const limit = `the limit of ${MAX_CONFIG_BYTES / 1024 / 1024} MiB (${MAX_CONFIG_BYTES} bytes)`;
  return new ProxyConfigError([`config too large: ${size === null ? "" : `${size}, `}over ${limit}`]);
}

/**
 * Collections nested deeper than this are refused before they are built: Envoy's protobuf parser
 * stops near 100 levels too, and YAML's composer recurses per level (50,000 nested `[`, 100 KB,
 * overflow its stack; in one of our runs Node aborted outright instead of throwing).
 */
export const MAX_CONFIG_DEPTH = 100;

/**
 * Load a bootstrap from text (a file's contents or `--config-yaml`). `format` defaults to JSON when
 * the text starts with `{`, else YAML. Throws ProxyConfigError listing every problem; nothing half-loads.
 * Errors read `path.to.field: message (line N)`.
 *
 * Time and memory are linear in the text: JSON goes through JSON.parse alone (YAML's document, which
 * knows the lines, is built only when there is a problem to place), duplicate keys are found with
 * one set per mapping, and nesting is bounded before anything recurses.
 */
export function loadConfigString(text: string, format?: ConfigFormat): Bootstrap {
  checkConfigSize(text);
  const fmt = format ?? (/^\s*\{/.test(text) ? "json" : "yaml");
  let yaml: YamlText | undefined;
  const yamlText = (): YamlText => {
    yaml ??= parseYaml(text);
    return yaml;
  };

  let raw: unknown;
  if (fmt === "json") {
    const scan = scanJson(text);
    if (scan.tooDeepAt >= 0) throw tooDeep(text, scan.tooDeepAt);
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new ProxyConfigError([`JSON syntax error: ${(err as Error).message}`]);
    }
    // JSON.parse keeps the last of two equal keys; the YAML reading names the duplicate, as for YAML.
    if (keyCount(raw) !== scan.keys) throwSyntaxErrors(yamlText(), "JSON");
  } else {
    throwSyntaxErrors(yamlText(), "YAML");
    try {
      raw = yamlText().doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      // What the document means is refused: too many aliases expanded, a merge (<<) of a non-mapping.
      throw new ProxyConfigError([`YAML error: ${(err as Error).message}`]);
    }
  }
  if (raw === null || raw === undefined) throw new ProxyConfigError(["the config is empty"]);

  const ctx = new Context();
  const parsed = parseBootstrap(ctx, raw);
  const version = ctx.settle();
  const render = (issue: Issue): string =>
    `${formatPath(issue.path)}: ${issue.message}${lineOf(yamlText(), issue.path)}`;
  if (ctx.errors.length > 0 || parsed === null) throw new ProxyConfigError(ctx.errors.map(render));
  return {
    version,
    ...parsed,
    warnings: ctx.warnings.map(render),
  };
}

/** A text read as YAML: its document, the document's errors and where its lines start. */
interface YamlText {
  doc: Document;
  errors: string[];
  lines: LineCounter;
}

/**
 * `parseDocument`, in its steps: the CST (iterative) is checked for depth before the composer (which
 * recurses) builds the document; duplicate keys are checked after, in linear time (the composer's
 * own check compares each key with every earlier one: 20,000 keys in one mapping took 6.7 s).
 * Errors are one line each, `message at line N, column M`.
 */
function parseYaml(text: string): YamlText {
  const lines = new LineCounter();
  const tokens = [...new Parser(lines.addNewLine).parse(text)];
  for (const token of tokens) checkDepth(token, text);
  const docs = [...new Composer({ merge: true, uniqueKeys: false }).compose(tokens, true, text.length)];
  const doc = docs[0] as Document;
  const at = (pos: number) => {
    const { line, col } = lines.linePos(pos);
    return ` at line ${line}, column ${col}`;
  };
  const errors = doc.errors.map((e) => e.message + at(e.pos[0]));
  if (docs.length > 1) errors.push(`the config has more than one YAML document${at(docs[1]?.range[0] ?? 0)}`);
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const { key } of map.items) {
        if (!isScalar(key)) continue;
        if (seen.has(key.value)) errors.push(`Map keys must be unique${at(key.range?.[0] ?? 0)}`);
        seen.add(key.value);
      }
    },
  });
  return { doc, errors, lines };
}

/** Refuses collections nested deeper than MAX_CONFIG_DEPTH in a YAML CST (walked without recursion). */
function checkDepth(root: CST.Token, text: string): void {
  const stack: { token: CST.Token | null | undefined; depth: number }[] = [{ token: root, depth: 0 }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { token, depth } = top;
    if (token === null || token === undefined) continue;
    if (token.type === "document") {
      stack.push({ token: token.value, depth });
    } else if (token.type === "block-map" || token.type === "block-seq" || token.type === "flow-collection") {
      if (depth + 1 > MAX_CONFIG_DEPTH) throw tooDeep(text, token.offset);
      for (const item of token.items) {
        if ("key" in item) stack.push({ token: item.key, depth: depth + 1 });
        stack.push({ token: item.value, depth: depth + 1 });
      }
    }
  }
}

function tooDeep(text: string, offset: number): ProxyConfigError {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return new ProxyConfigError([
    `the config nests collections deeper than ${MAX_CONFIG_DEPTH} levels (line ${line}, column ${offset - lineStart + 1})`,
  ]);
}

function throwSyntaxErrors(yaml: YamlText, fmt: "JSON" | "YAML"): void {
  if (yaml.errors.length > 0) throw new ProxyConfigError(yaml.errors.map((e) => `${fmt} syntax error: ${e}`));
}

/** The keys of every object in a JSON value (iterative). */
function keyCount(value: unknown): number {
  let n = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== "object" || v === null) continue;
    if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else {
      for (const key in v) {
        n++;
        stack.push((v as Record<string, unknown>)[key]);
      }
    }
  }
  return n;
}

/**
 * One pass over JSON text: its keys (one `:` outside strings per key, in valid JSON) and where its
 * `[`/`{` first nest deeper than MAX_CONFIG_DEPTH (-1: nowhere).
 */
function scanJson(text: string): { keys: number; tooDeepAt: number } {
  let keys = 0;
  let depth = 0;
  let tooDeepAt = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x3a) {
      keys++;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_CONFIG_DEPTH && tooDeepAt < 0) tooDeepAt = i;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return { keys, tooDeepAt };
}

/** ` (line N)` for the deepest node of `path` that exists in the document, or "". */
function lineOf({ doc, lines }: YamlText, path: Path): string {
  for (let n = path.length; n > 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range !== undefined) return ` (line ${lines.linePos(node.range[0]).line})`;
  }
  return "";
}
