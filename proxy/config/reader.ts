import type { Context } from "./context.js";
import { didYouMean } from "./hint.js";
import { type Path, show } from "./path.js";
import { parseDuration, parseInteger, type Result } from "./values.js";

/** Plain mapping test (YAML maps and JSON objects parse to plain objects). */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Field names (the parser's, never the input's) -> their JSON names: every accessor asks, so once each. */
const JSON_NAMES = new Map<string, string>();

/** protobuf JSON's other name for a field, which Envoy accepts too: `connect_timeout` -> `connectTimeout`. */
export function jsonName(key: string): string {
  let name = JSON_NAMES.get(key);
  if (name === undefined) {
    name = key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()).replace(/_(?=\d)/g, "");
    JSON_NAMES.set(key, name);
  }
  return name;
}

/**
 * A strict view of one config mapping. Every accessor records its key as known (present or not), so
 * `done()` can report the keys nobody asked for as unknown fields, with a hint from the known ones.
 * A field may be spelled as in the protos (`connect_timeout`) or by its protobuf JSON name
 * (`connectTimeout`), as Envoy's parser accepts both. Problems go to the shared Context; accessors
 * return a default so parsing can carry on and find every error in one run. `null` values count as
 * absent (as in protobuf JSON).
 */
export class Obj {
  /** The fields asked for (repeats allowed): an array, since most mappings have a handful of keys. */
  private readonly known: string[] = [];

  constructor(
    readonly ctx: Context,
    readonly path: Path,
    readonly raw: Readonly<Record<string, unknown>>,
  ) {}

  /** A mapping at `path`, or null (with an error) when the value is something else. */
  static of(ctx: Context, path: Path, value: unknown): Obj | null {
    if (value === null || value === undefined) return new Obj(ctx, path, {});
    if (!isMapping(value)) {
      ctx.error(path, `expected a mapping, got ${show(value)}`);
      return null;
    }
    return new Obj(ctx, path, value);
  }

  /** The path of field `key`, as the file spells it. */
  at(key: string): Path {
    const alias = jsonName(key);
    return [...this.path, !Object.hasOwn(this.raw, key) && Object.hasOwn(this.raw, alias) ? alias : key];
  }

  error(key: string | null, message: string): void {
    this.ctx.error(key === null ? this.path : this.at(key), message);
  }

  /** The raw value, undefined when absent or null. */
  get(key: string): unknown {
    this.known.push(key);
    let v: unknown;
    if (Object.hasOwn(this.raw, key)) {
      v = this.raw[key];
    } else {
      const alias = jsonName(key);
      if (alias !== key && Object.hasOwn(this.raw, alias)) v = this.raw[alias];
    }
    return v === null ? undefined : v;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Report (once) that the field is missing when it is. */
  require(key: string): boolean {
    if (this.has(key)) return true;
    this.error(key, "required field is missing");
    return false;
  }

  /** At most one of `keys` may be set; returns the one that is, or null. */
  oneOf(keys: readonly string[], required = false): string | null {
    const set = keys.filter((k) => this.has(k));
    if (set.length > 1)
      this.error(set[1] as string, `only one of ${keys.join(", ")} may be set (also set: ${set[0]})`);
    if (set.length === 0 && required) this.error(null, `one of ${keys.join(", ")} is required`);
    return set[0] ?? null;
  }

  obj(key: string): Obj | null {
    const v = this.get(key);
    return v === undefined ? null : Obj.of(this.ctx, this.at(key), v);
  }

  /** List items with their paths; absent = empty. */
  list(key: string): { path: Path; value: unknown }[] {
    const v = this.get(key);
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.error(key, `expected a list, got ${show(v)}`);
      return [];
    }
    return v.map((value, i) => ({ path: [...this.at(key), i], value }));
  }

  /** A list of mappings; items that are not mappings are reported and skipped. */
  objList(key: string): Obj[] {
    const out: Obj[] = [];
    for (const item of this.list(key)) {
      if (item.value === null || item.value === undefined) {
        this.ctx.error(item.path, "expected a mapping, got null");
        continue;
      }
      const o = Obj.of(this.ctx, item.path, item.value);
      if (o !== null) out.push(o);
    }
    return out;
  }

  str(key: string): string | undefined {
    const v = this.get(key);
    if (v === undefined || typeof v === "string") return v;
    this.error(key, `expected a string, got ${show(v)}`);
    return undefined;
  }

  /** A required, non-empty string. */
  name(key: string): string | undefined {
    if (!this.require(key)) return undefined;
    const s = this.str(key);
    if (s === "") this.error(key, "must not be empty");
    return s === "" ? undefined : s;
  }

  strList(key: string): string[] {
    const out: string[] = [];
    for (const item of this.list(key)) {
      if (typeof item.value === "string") out.push(item.value);
      else this.ctx.error(item.path, `expected a string, got ${show(item.value)}`);
    }
    return out;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.get(key);
    if (v === undefined) return fallback;
    if (typeof v === "boolean") return v;
    this.error(key, `expected true or false, got ${show(v)}`);
    return fallback;
  }

  int(key: string, fallback: number, min = 0, max = 4_294_967_295): number {
    const v = this.get(key);
    return v === undefined ? fallback : this.check(key, parseInteger(v, min, max), fallback);
  }

  /** Duration in ms (see parseDuration). */
  duration(key: string, fallbackMs: number): number {
    const v = this.get(key);
    return v === undefined ? fallbackMs : this.check(key, parseDuration(v), fallbackMs);
  }

  /**
   * An enum, matched case-insensitively against `table`'s keys (written upper-case, as in the
   * protos). A `null` entry is a value Envoy has that we do not implement.
   */
  enumOf<T>(key: string, table: Readonly<Record<string, T | null>>, fallback: T): T {
    const v = this.get(key);
    if (v === undefined) return fallback;
    if (typeof v !== "string") {
      this.error(key, `expected one of ${Object.keys(table).join(", ")}, got ${show(v)}`);
      return fallback;
    }
    const found = table[v.toUpperCase()];
    // Suggest names in the case the user wrote (round_robin or ROUND_ROBIN).
    const spell = (names: string[]) => (v === v.toLowerCase() ? names.map((n) => n.toLowerCase()) : names);
    if (found === undefined) {
      this.error(key, `unknown value ${show(v)}${didYouMean(v, spell(Object.keys(table)))}`);
      return fallback;
    }
    if (found === null) {
      const supported = spell(Object.keys(table).filter((k) => table[k] !== null));
      this.error(key, `unsupported value ${show(v)} (echomesh-proxy supports ${supported.join(", ")})`);
      return fallback;
    }
    return found;
  }

  /** Fields Envoy has that we accept and ignore (purely informational): a warning when set. */
  ignore(...keys: string[]): void {
    for (const key of keys) this.ignoreBecause(key, "has no effect in echomesh-proxy");
  }

  /**
   * A field we accept without applying (informational, or acting only when upstreams fail or the
   * load is heavy: docs/ENVOY-DIFFERENCES.md, "Configuration"): a warning naming it, with `why`.
   */
  ignoreBecause(key: string, why: string): void {
    if (this.has(key)) this.ctx.warn(this.at(key), `ignored (${why})`);
  }

  /** Fields Envoy has that we do not implement: an error when set. */
  unsupported(...keys: string[]): void {
    for (const key of keys) {
      if (this.has(key)) this.error(key, "unsupported field (not implemented by echomesh-proxy)");
    }
  }

  /** Report every key no accessor asked for. Call after reading all fields. */
  done(): void {
    for (const key of Object.keys(this.raw)) {
      if (this.known.includes(key)) continue;
      const proto = this.known.find((k) => k !== key && jsonName(k) === key);
      if (proto === undefined) {
        this.ctx.error([...this.path, key], `unknown field${didYouMean(key, new Set(this.known))}`);
      } else if (Object.hasOwn(this.raw, proto)) {
        this.ctx.error([...this.path, key], `set twice (also as ${proto})`);
      }
    }
  }

  private check<T>(key: string, result: Result<T>, fallback: T): T {
    if (result.ok) return result.value;
    this.error(key, result.problem);
    return fallback;
  }
}
