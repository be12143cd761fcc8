/**
 * Every regex that config or admin input reaches is RE2 (re2js, a pure-JS port of RE2): matching
 * takes time linear in the input whatever the pattern, so no pattern can stall the event loop the
 * way a backtracking JavaScript RegExp can (`/files/([a-zA-Z0-9_-]+/?)*` on a 35-character path).
 * RE2's syntax is accepted as written (`(?P<name>...)`, `(?i)` anywhere, `\pL`, `\Q...\E`) and what
 * RE2 rejects is an error (backreferences, lookaround).
 */
import { RE2JS } from "re2js";
import type { Result } from "./values.js";

/**
 * `full`: `test` must match the whole input (Envoy's matchers).
 * `global`: `test` finds a match anywhere (admin `?filter=`); `replace` replaces every match
 * (`regex_rewrite`, RE2::GlobalReplace).
 */
export type RegexMode = "full" | "global";

/**
 * Envoy's default for runtime `re2.max_program_size.error_level` (and for the deprecated
 * `google_re2.max_program_size`): a pattern whose RE2 program is larger is a config error.
 */
export const MAX_PROGRAM_SIZE = 100;

/**
 * re2js builds the same kind of program as RE2 but counts two instructions fewer (RE2's fail and
 * match); with this, ASCII patterns weigh what Envoy reports (`a{96}` 100, `a{97}` 101). `.` and
 * Unicode classes weigh less here (RE2's program is UTF-8, one instruction per byte range), so a few
 * patterns Envoy refuses load (docs/ENVOY-DIFFERENCES.md).
 */
const PROGRAM_SIZE_OFFSET = 2;

/** A compiled RE2 pattern. `"path".replace(regex, substitution)` works (for `global` patterns). */
export class Regex {
  constructor(
    readonly source: string,
    private readonly program: RE2JS,
    private readonly full: boolean,
  ) {}

  test(input: string): boolean {
    return this.full ? this.program.testExact(input) : this.program.test(input);
  }

  /** Replaces every match; `substitution` uses `$1`, `$&`, `$$` (see toJsSubstitution). */
  [Symbol.replace](input: string, substitution: string): string {
    return this.program.matcher(input).replaceAll(substitution);
  }

  /** `/config_dump` prints the pattern. */
  toJSON(): string {
    return this.source;
  }
}

/**
 * Compiles `source` as RE2 for `mode`. `maxProgramSize` (default Envoy's 100; `null` = no limit, for
 * the admin filter, which Envoy does not limit either) bounds the program's size.
 */
export function compileRegex(
  source: string,
  mode: RegexMode,
  maxProgramSize: number | null = MAX_PROGRAM_SIZE,
): Result<Regex> {
  let program: RE2JS;
  try {
    program = RE2JS.compile(source);
  } catch (err) {
    return { ok: false, problem: `invalid regex ${JSON.stringify(source)}: ${reason(err)}` };
  }
  const size = program.programSize() + PROGRAM_SIZE_OFFSET;
  if (maxProgramSize !== null && size > maxProgramSize) {
    return {
      ok: false,
      problem: `regex ${JSON.stringify(source)}: RE2 program size of ${size} > max program size of ${maxProgramSize}`,
    };
  }
  return { ok: true, value: new Regex(source, program, mode === "full") };
}

/** re2js says `error parsing regexp: invalid escape sequence: \`\1\``; RE2 says the part after the colon. */
function reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^error parsing regexp: /, "");
}

/**
 * RE2 substitution (`\1` = group 1, `\0` = whole match, `\\` = a backslash) to the JavaScript
 * replacement syntax the matcher expands. Groups are written `$0N` so a digit after them stays a
 * digit (RE2 `\10` = group 1, then `0`).
 */
export function toJsSubstitution(re2: string): string {
  let out = "";
  for (let i = 0; i < re2.length; i++) {
    const c = re2[i] as string;
    const next = re2[i + 1];
    if (c === "\\" && next !== undefined && next >= "0" && next <= "9") {
      out += next === "0" ? "$&" : `$0${next}`;
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
