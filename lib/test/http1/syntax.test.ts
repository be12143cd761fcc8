/** The shared syntax pieces of the HTTP/1.1 codec (lib/http1/syntax.ts). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bareLineEnd, invalidInHead, lineEnd, listsToken, MALFORMED } from "../../http1/syntax.js";

describe("listsToken", () => {
  it.each([
    ["close", true],
    ["Keep-Alive, CLOSE", true],
    [" \tclose\t ", true],
    ["upgrade,close,", true],
    [",,close", true],
    ["closed", false],
    ["clos", false],
    ["close-ish, x", false],
    ["", false],
    ["c lose", false],
  ])("%j lists close: %s", (value, expected) => {
    expect(listsToken(value, "close")).toBe(expected);
  });
});

describe("lineEnd", () => {
  it("finds a CR LF, refuses a LF alone, and does not look past `end`", () => {
    const buf = Buffer.from("ab\r\ncd\nef");
    expect(lineEnd(buf, 0)).toBe(2);
    expect(lineEnd(buf, 4)).toBe(MALFORMED);
    expect(lineEnd(buf, 4, 6)).toBe(-1);
    expect(lineEnd(buf, 7)).toBe(-1);
  });
});

describe("bareLineEnd", () => {
  it.each([
    ["GET / HTTP/1.1\r\nHost: a\r\n", false],
    ["GET / HTTP/1.1\nHost: a", true],
    ["GET / HTTP/1.1\rHost: a", true],
    ["GET / HTTP/1.1\r\r\n", true],
    // The last byte read may be a CR whose LF is in the next read.
    ["GET / HTTP/1.1\r", false],
  ])("%j: %s", (text, expected) => {
    expect(bareLineEnd(Buffer.from(text, "latin1"), 1)).toBe(expected);
  });

  it("does not look at bytes at or past `end`", () => {
    const buf = Buffer.from("GET / HTTP/1.1\rX\n", "latin1");
    expect(bareLineEnd(buf, 1, 15)).toBe(false);
    expect(bareLineEnd(buf, 1, 16)).toBe(true);
  });
});

describe("invalidInHead", () => {
  // The definition it replaces: a control character other than HTAB, CR, LF; a CR or LF alone.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the oracle looks for control characters
  const ORACLE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)|(?<!\r)\n/;

  it.each([
    ["GET / HTTP/1.1\r\nHost: h\r\nX: a\tb", false],
    ["GET / HTTP/1.1\r\nX: \xe9\xff", false],
    ["GET / HTTP/1.1\nHost: h", true],
    ["GET / HTTP/1.1\rHost: h", true],
    ["GET / HTTP/1.1\r\r\nHost: h", true],
    ["X: a\x00b", true],
    ["X: a\x7fb", true],
    ["ends with CR\r", true],
  ])("%j: %s", (text, expected) => {
    expect(invalidInHead(text)).toBe(expected);
  });

  it("agrees with the regular expressions on any latin1 text", () => {
    const chars = fc.constantFrom("a", " ", "\t", "\r", "\n", "\x00", "\x1f", "\x7f", "\x80", "\xff", ":");
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 24 }), (parts) => {
        const text = parts.join("");
        expect(invalidInHead(text)).toBe(ORACLE.test(text));
      }),
      { numRuns: 2000 },
    );
  });
});
