/**
 * Fuzzing the config loader: a committed corpus of hostile inputs (../fixtures/fuzz/), random
 * mutations of a valid config's tree, and random text. Whatever comes in, the loader returns a
 * Bootstrap or throws ProxyConfigError, and every problem about the tree names a path that exists in
 * the input (or whose parent does, for a missing field). Seeded and bounded: the same runs every time.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { loadConfigFile, loadConfigString, ProxyConfigError } from "../../config/load.js";

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const SEED = 20_240_901;

/** Problems with no path: the text itself is refused. */
const TEXT_PROBLEM =
  /^(YAML syntax error|JSON syntax error|YAML error|the config is empty|config too large|the config nests)/;

/** The loader's verdict on `text`: "ok", or its problems. Anything but ProxyConfigError is rethrown. */
function verdict(text: string, format?: "json" | "yaml"): "ok" | string[] {
  try {
    loadConfigString(text, format);
    return "ok";
  } catch (err) {
    if (err instanceof ProxyConfigError) return err.errors;
    throw err;
  }
}

const SEGMENT = /^(?:\.?([A-Za-z_@][A-Za-z0-9_@-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\])/;

/** The path at the start of a problem line (`a.b[0]["x.y"]: message`), or null when it has none. */
function pathOf(problem: string): (string | number)[] | null {
  if (problem.startsWith("(root): ")) return [];
  const path: (string | number)[] = [];
  let rest = problem;
  for (let m = SEGMENT.exec(rest); m !== null; m = SEGMENT.exec(rest)) {
    path.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (JSON.parse(m[3] as string) as string)));
    rest = rest.slice(m[0].length);
  }
  return rest.startsWith(": ") && path.length > 0 ? path : null;
}

/** Whether `path` leads somewhere in `tree` (own keys and list indexes only). */
function exists(tree: unknown, path: readonly (string | number)[]): boolean {
  let node = tree;
  for (const segment of path) {
    if (typeof node !== "object" || node === null || !Object.hasOwn(node, segment)) return false;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return true;
}

/** Every problem names a path of `tree`, or of its parent (a field that is missing). */
function expectPathsIn(tree: unknown, problems: string[]): void {
  for (const problem of problems) {
    const path = pathOf(problem);
    expect(path, `a path in: ${problem}`).not.toBeNull();
    if (path === null) continue;
    expect(
      exists(tree, path) || exists(tree, path.slice(0, -1)),
      `${problem}\nnames a path of the input`,
    ).toBe(true);
  }
}

/** Every node of a tree, with its path (the root first). */
function nodes(tree: unknown): { path: (string | number)[]; value: unknown }[] {
  const out: { path: (string | number)[]; value: unknown }[] = [];
  const walk = (value: unknown, path: (string | number)[]) => {
    out.push({ path, value });
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) walk(value[i], [...path, i]);
    } else if (typeof value === "object" && value !== null) {
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    }
  };
  walk(tree, []);
  return out;
}

/** A value a config field could be given by mistake, or by an attacker. */
const anyValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -5, max: 70_000 }),
  fc.double(),
  fc.string({ maxLength: 12 }),
  fc.constantFrom("1s", "0.25s", "-1s", "STATIC", "round_robin", "*", "/", "127.0.0.1", "(a)\\1", "a{200}"),
  fc.jsonValue({ maxDepth: 3 }),
);

/** One change at the node with index `at % nodes`: replace it, drop it, or give a mapping a new key. */
const mutation = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom("replace", "delete", "add"),
  key: fc.oneof(
    fc.string({ maxLength: 10 }),
    fc.constantFrom("name", "typed_config", "@type", "__proto__", "connectTimeout", "regex"),
  ),
  value: anyValue,
});

function mutate(
  tree: unknown,
  changes: { at: number; kind: string; key: string; value: unknown }[],
): unknown {
  let root = structuredClone(tree);
  for (const change of changes) {
    const all = nodes(root);
    const { path, value } = all[change.at % all.length] as { path: (string | number)[]; value: unknown };
    const parentPath = path.slice(0, -1);
    const parent = parentPath.reduce<unknown>((n, s) => (n as Record<string | number, unknown>)[s], root) as
      | Record<string | number, unknown>
      | unknown[];
    const last = path[path.length - 1];
    if (change.kind === "add" && typeof value === "object" && value !== null && !Array.isArray(value)) {
      Object.defineProperty(value, change.key, { value: change.value, enumerable: true, writable: true });
    } else if (last === undefined) {
      root = change.value;
    } else if (change.kind === "delete" && Array.isArray(parent)) {
      parent.splice(last as number, 1);
    } else if (change.kind === "delete") {
      delete (parent as Record<string, unknown>)[last];
    } else {
      (parent as Record<string | number, unknown>)[last] = change.value;
    }
  }
  return root;
}

describe("config loader fuzzing", () => {
  it("the corpus of hostile inputs: each loads or is refused with ProxyConfigError, in under a second", async () => {
    const dir = fixture("fuzz");
    const files = readdirSync(dir).filter((f) => f.endsWith(".yaml") || f.endsWith(".json"));
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const file of files) {
      const start = performance.now();
      const outcome = await loadConfigFile(`${dir}/${file}`).then(
        () => "loaded",
        (err: unknown) => (err instanceof ProxyConfigError ? "refused" : err),
      );
      expect(outcome === "loaded" || outcome === "refused", `${file}: ${String(outcome)}`).toBe(true);
      expect(performance.now() - start, `${file} (ms)`).toBeLessThan(1_000);
    }
  });

  it("random mutations of a valid config's tree: a Bootstrap or problems naming paths of the input (YAML and JSON)", () => {
    const base: unknown = parseYaml(readFileSync(fixture("v3/features.yaml"), "utf8"));
    expect(verdict(stringifyYaml(base))).toBe("ok");
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (changes, asJson) => {
        const tree = mutate(base, changes);
        const text = asJson ? JSON.stringify(tree) : stringifyYaml(tree, { aliasDuplicateObjects: false });
        const result = verdict(text, asJson ? "json" : "yaml");
        if (result === "ok") return;
        if (tree === null || typeof tree !== "object") return; // an empty or scalar config: no paths
        expectPathsIn(
          tree,
          result.filter((p) => !TEXT_PROBLEM.test(p)),
        );
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it("random text and random edits of a valid config's text: never anything but ProxyConfigError", () => {
    const base = readFileSync(fixture("v3/features.yaml"), "utf8");
    const edit = fc.record({
      at: fc.nat(),
      cut: fc.nat({ max: 8 }),
      insert: fc.string({ maxLength: 8, unit: "binary" }),
    });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300, unit: "binary" }),
          fc.array(edit, { minLength: 1, maxLength: 6 }).map((edits) =>
            edits.reduce((text, e) => {
              const at = e.at % (text.length + 1);
              return text.slice(0, at) + e.insert + text.slice(at + e.cut);
            }, base),
          ),
        ),
        fc.constantFrom(undefined, "json" as const, "yaml" as const),
        (text, format) => {
          verdict(text, format);
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });
});
