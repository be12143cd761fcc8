import { describe, expect, it } from "vitest";
import { compileRegex, type Regex, type RegexMode, toJsSubstitution } from "../../config/regex.js";

function compiled(source: string, mode: RegexMode = "full"): Regex {
  const r = compileRegex(source, mode);
  if (!r.ok) throw new Error(r.problem);
  return r.value;
}

describe("RE2 regexes (proxy/config/regex.ts)", () => {
  it("full: the whole input must match; global: a match anywhere", () => {
    expect(compiled("/u/[0-9]+").test("/u/12")).toBe(true);
    expect(compiled("/u/[0-9]+").test("/u/12/x")).toBe(false);
    expect(compiled("a|ab").test("ab")).toBe(true);
    expect(compiled("[0-9]+", "global").test("/u/12/x")).toBe(true);
  });

  it("RE2 syntax: (?P<name>), (?i) anywhere, \\pL, \\Q...\\E; `.` is one code point", () => {
    expect(compiled("/u/(?P<id>[0-9]+)").test("/u/7")).toBe(true);
    expect(compiled("/(?i)users").test("/USERS")).toBe(true);
    expect(compiled("\\pL+").test("héllo")).toBe(true);
    expect(compiled("\\Q/a.b\\E").test("/a.b")).toBe(true);
    expect(compiled("\\Q/a.b\\E").test("/axb")).toBe(false);
    expect(compiled("/.").test("/😀")).toBe(true);
  });

  it("what RE2 refuses, and programs over the size limit, are problems quoting the pattern", () => {
    expect(compileRegex("(a)\\1", "full")).toEqual({
      ok: false,
      problem: 'invalid regex "(a)\\\\1": invalid escape sequence: `\\1`',
    });
    expect(compileRegex("a(?=b)", "full").ok).toBe(false);
    expect(compileRegex("a(?<!b)", "full").ok).toBe(false);
    expect(compileRegex("a{96}", "full").ok).toBe(true);
    expect(compileRegex("a{97}", "full")).toEqual({
      ok: false,
      problem: 'regex "a{97}": RE2 program size of 101 > max program size of 100',
    });
    expect(compileRegex("a{97}", "full", 200).ok).toBe(true);
    expect(compileRegex("a{97}", "global", null).ok).toBe(true);
  });

  it("regex_rewrite keeps RE2's substitution: \\N groups (one digit), \\0 the match, \\\\ a backslash, $ literal", () => {
    const rewrite = (pattern: string, substitution: string, path: string) =>
      path.replace(compiled(pattern, "global"), toJsSubstitution(substitution));
    expect(rewrite("^/items/([0-9]+)$", "/item?id=\\1", "/items/42")).toBe("/item?id=42");
    expect(rewrite("^/(a)(b)", "\\2\\1\\10$1\\\\[\\0]", "/abc")).toBe("baa0$1\\[/ab]c");
    expect(rewrite("x*", "-", "abc")).toBe("-a-b-c-");
    expect(rewrite("(?i)items", "things", "/items/ITEMS")).toBe("/things/things");
  });

  it("prints as its pattern in /config_dump", () => {
    expect(JSON.stringify({ regex: compiled("/u/[0-9]+") })).toBe('{"regex":"/u/[0-9]+"}');
  });
});
