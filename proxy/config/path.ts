/** Config paths (`static_resources.clusters[0].lb_policy`) and the problems reported against them. */

export type Path = readonly (string | number)[];

export interface Issue {
  path: Path;
  message: string;
}

const IDENTIFIER = /^[A-Za-z_@][A-Za-z0-9_@-]*$/;

/** Envoy-style dotted path: `a.b[0].c`, with `["x.y"]` for map keys that are not plain identifiers. */
export function formatPath(path: Path): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === "" ? "(root)" : out;
}

/** Short, quoted rendering of a config value for messages. */
export function show(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return "a list";
  return "a mapping";
}
