/**
 * Allocation-free string comparisons and the StringMatch / HeaderMatch evaluators the route table
 * uses on every request.
 */
import type { HeaderMatch, HeaderMatcher, StringMatch } from "../config/model.js";

/** ASCII case-insensitive `str.startsWith(prefix, 0)` where `lowerPrefix` is already lower-case. */
export function startsWithLower(str: string, lowerPrefix: string, end = str.length): boolean {
  if (lowerPrefix.length > end) return false;
  for (let i = 0; i < lowerPrefix.length; i++) {
    let c = str.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lowerPrefix.charCodeAt(i)) return false;
  }
  return true;
}

export function hasUpperAscii(str: string): boolean {
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i);
    if (c >= 65 && c <= 90) return true;
  }
  return false;
}

/** Envoy's StringMatcher on a present value. */
export function matchString(m: StringMatch, value: string): boolean {
  if (m.kind === "regex") return m.regex.test(value);
  const v = m.ignoreCase ? value.toLowerCase() : value;
  switch (m.kind) {
    case "exact":
      return v === m.value;
    case "prefix":
      return v.startsWith(m.value);
    case "suffix":
      return v.endsWith(m.value);
    case "contains":
      return v.includes(m.value);
  }
}

const INTEGER = /^\s*[-+]?\d+\s*$/;

function matchHeaderValue(m: HeaderMatch, value: string): boolean {
  switch (m.kind) {
    case "present":
      return m.present;
    case "range": {
      if (!INTEGER.test(value)) return false;
      const n = Number(value);
      return n >= m.start && n < m.end;
    }
    default:
      return matchString(m, value);
  }
}

/**
 * Envoy's HeaderUtility::matchHeaders for one matcher. A missing header matches only
 * `present_match: false` (or, inverted, `present_match: true`); every other matcher fails on a
 * missing header whether inverted or not.
 */
export function matchHeader(m: HeaderMatcher, value: string | undefined): boolean {
  if (value === undefined) {
    return m.match.kind === "present" && m.match.present === m.invert;
  }
  return matchHeaderValue(m.match, value) !== m.invert;
}
