import type { Result } from "./values.js";

/**
 * RE2 (Envoy's `safe_regex`) and ECMAScript (v2 `regex`) patterns compiled to JS RegExps. RE2's named
 * groups `(?P<name>...)` and leading inline flags `(?i)`, `(?s)`, `(?m)` are translated; everything
 * else must be valid in both syntaxes.
 */
export type RegexMode = "full" | "global";

const LEADING_FLAGS = /^\(\?([ims]+)\)/;

/**
 * `full`: anchored, for matchers (Envoy requires the whole input to match).
 * `global`: unanchored with the `g` flag, for `regex_rewrite` (Envoy replaces every match).
 */
export function compileRegex(source: string, mode: RegexMode): Result<RegExp> {
  let body = source.replace(/\(\?P</g, "(?<");
  let flags = mode === "global" ? "g" : "";
  const leading = LEADING_FLAGS.exec(body);
  if (leading !== null) {
    flags += leading[1];
    body = body.slice(leading[0].length);
  }
  try {
    return { ok: true, value: new RegExp(mode === "full" ? `^(?:${body})$` : body, flags) };
  } catch (err) {
    return { ok: false, problem: `invalid regex ${JSON.stringify(source)}: ${(err as Error).message}` };
  }
}

/** RE2 substitution (`\1` = group 1, `\0` = whole match) to the JS replacement syntax. */
export function toJsSubstitution(re2: string): string {
  let out = "";
  for (let i = 0; i < re2.length; i++) {
    const c = re2[i] as string;
    const next = re2[i + 1];
    if (c === "\\" && next !== undefined && next >= "0" && next <= "9") {
      out += next === "0" ? "$&" : `$${next}`;
      i++;
    } else if (c === "\\" && next === "\\") {
      out += "\\";
      i++;
    } else if (c === "$") {
      out += "$$";
    } else {
      out += c;
    }
  }
  return out;
}
