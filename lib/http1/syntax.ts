/**
 * The pieces of RFC 9110/9112 syntax every part of the HTTP/1.1 codec shares: line ends (CR LF only),
 * tokens, field lines, control characters. Text is latin1, one character per byte.
 */

/** `lineEnd`: a LF without its CR. */
export const MALFORMED = -2;

/**
 * Index of the CR of the first line end in buf[from, end); -1: none yet; MALFORMED: a LF without CR.
 * Bytes at or past `end` are not looked at as data (they may be unused storage).
 */
export function lineEnd(buf: Buffer, from: number, end: number = buf.length): number {
  const lf = buf.indexOf(10, from);
  if (lf < 0 || lf >= end) return -1;
  return lf > from && buf[lf - 1] === 13 ? lf - 1 : MALFORMED;
}

/**
 * A LF not preceded by CR, or a CR not followed by LF, in buf[from, end) (`from` is past the first
 * byte of a head). A CR as the last byte is not bare yet: its LF may be in the next read.
 */
export function bareLineEnd(buf: Buffer, from: number, end: number = buf.length): boolean {
  for (let at = buf.indexOf(10, from); at >= 0 && at < end; at = buf.indexOf(10, at + 1)) {
    if (buf[at - 1] !== 13) return true;
  }
  for (let at = buf.indexOf(13, from); at >= 0 && at < end - 1; at = buf.indexOf(13, at + 1)) {
    if (buf[at + 1] !== 10) return true;
  }
  return false;
}

/** RFC 9110 token characters (method, field names). */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** 1 at the char codes of RFC 9110 token characters (the same set as `TOKEN`). */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
  TCHAR[c.charCodeAt(0)] = 1;

/**
 * The index of the first character of s[from, to) that is not a token character (`to` when none):
 * a field name ends there, and must end at its colon. One table walk in place of a search for the
 * colon and a `TOKEN` test of a slice, on the field lines of every head.
 */
export function tokenEnd(s: string, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const c = s.charCodeAt(i);
    if (c > 127 || TCHAR[c] === 0) break;
    i++;
  }
  return i;
}

/** Control characters other than HTAB, CR and LF. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job
export const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
/**
 * Whether a head's text holds a control character other than HTAB, or a CR or LF outside a CR LF
 * pair: `CONTROL` and a bare CR or LF in one pass, without the two regular expressions (60% of their time).
 */
export function invalidInHead(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 32) {
      if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
      else if (c !== 9) return true;
    } else if (c === 127) return true;
  }
  return false;
}

/** `name: value` (a header or trailer line) -> [name, value]; null when malformed. */
export function parseField(line: string): [string, string] | null {
  const colon = line.indexOf(":");
  if (colon <= 0) return null;
  const name = line.slice(0, colon);
  if (!TOKEN.test(name)) return null;
  const value = trimOws(line, colon + 1, line.length);
  if (CONTROL.test(value) || value.includes("\r") || value.includes("\n")) return null;
  return [name, value];
}

/** s[from, to) without the optional whitespace (SP, HTAB) around it. */
export function trimOws(s: string, from: number, to: number): string {
  let a = from;
  let b = to;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return s.slice(a, b);
}

/** Whether a comma-separated header value lists `token` (lower-case), case-insensitively. */
export function listsToken(value: string, token: string): boolean {
  // Scanned in place (no split, no lower-case copies): `Connection` is on most requests.
  let at = 0;
  while (at <= value.length) {
    let end = value.indexOf(",", at);
    if (end < 0) end = value.length;
    let a = at;
    let b = end;
    while (a < b && isOws(value.charCodeAt(a))) a++;
    while (b > a && isOws(value.charCodeAt(b - 1))) b--;
    if (b - a === token.length && equalsLower(value, a, token)) return true;
    at = end + 1;
  }
  return false;
}

/** What `String.prototype.trim` removes around a list element that a header value can hold. */
function isOws(c: number): boolean {
  return c === 32 || c === 9 || c === 0xa0;
}

/** value[at, at + token.length) equals `token` (lower-case ASCII), ignoring ASCII case. */
function equalsLower(value: string, at: number, token: string): boolean {
  for (let i = 0; i < token.length; i++) {
    let c = value.charCodeAt(at + i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== token.charCodeAt(i)) return false;
  }
  return true;
}
