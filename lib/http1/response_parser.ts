/**
 * The response-head grammar, as a pure function: the status line (`HTTP/1.0` or `HTTP/1.1`, a 3-digit
 * status), header fields (token names: no obs-fold, no whitespace before the colon; no control
 * characters, CR LF only), one Content-Length or a Transfer-Encoding but not both, the hop-by-hop
 * headers read for framing and removed. What Envoy 1.40's codec refuses here (a protocol error, 502
 * downstream) is refused, as measured on a running Envoy 1.40.
 */
import { invalidInHead, tokenEnd } from "./syntax.js";
import type { RawHeaders, ResponseHead } from "./types.js";

/** Response headers Envoy removes (a response keeps the headers its `Connection` names). */
const RESPONSE_HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

/** Parse a response head (the text before its blank line, latin1); a string says why it is malformed. */
export function parseResponseHead(text: string): ResponseHead | string {
  // Control characters, or a CR or LF alone: Envoy's codec refuses the former (502); a lone line end
  // would reach the client as a line of its own, so it is refused too.
  if (invalidInHead(text)) return "invalid character in the response head";
  let eol = text.indexOf("\r\n");
  if (eol < 0) eol = text.length;
  const line = text.slice(0, eol);
  // `HTTP/1.x SSS reason`
  if (
    line.length < 12 ||
    !line.startsWith("HTTP/1.") ||
    line.charCodeAt(8) !== 32 ||
    (line.length > 12 && line.charCodeAt(12) !== 32)
  )
    return "bad status line";
  const minor = line.charCodeAt(7) - 48;
  const status = Number(line.slice(9, 12));
  if (!(status >= 100 && status <= 999) || (minor !== 0 && minor !== 1)) return "bad status line";
  const headers: RawHeaders = [];
  let length = -1;
  let chunked = false;
  let transferEncoding = false;
  let close = minor === 0;
  let at = eol + 2;
  while (at < text.length) {
    let end = text.indexOf("\r\n", at);
    if (end < 0) end = text.length;
    // A name is a token (RFC 9110 §5.1) up to the colon: no obs-fold (leading whitespace), no
    // whitespace before the colon, no delimiters, no bytes past ASCII; it would otherwise reach the
    // client as sent.
    const colon = tokenEnd(text, at, end);
    if (colon === at || colon === end || text.charCodeAt(colon) !== 58) return "bad header line";
    const name = text.slice(at, colon).toLowerCase();
    const value = text.slice(colon + 1, end).trim();
    at = end + 2;
    if (name.length === 14 && name === "content-length") {
      // One Content-Length, digits only: a repeat, even an equal one, is refused as Envoy's codec does
      // (and as the request parser does); forwarding both would hand the client two.
      if (length >= 0 || !/^\d{1,15}$/.test(value)) return "bad content-length";
      length = Number(value);
    } else if (RESPONSE_HOP_BY_HOP.has(name)) {
      if (name === "transfer-encoding") {
        transferEncoding = true;
        chunked = /(^|,)\s*chunked\s*$/i.test(value);
      } else if (name === "connection") {
        const v = value.toLowerCase();
        if (v.includes("close")) close = true;
        else if (minor === 0 && v.includes("keep-alive")) close = false;
      }
      continue;
    }
    headers.push(name, value);
  }
  // Both framings at once (RFC 9112 §6.1: a smuggling vector): Envoy refuses the response unless
  // `allow_chunked_length`, which this codec does not offer.
  if (transferEncoding && length >= 0) return "both content-length and transfer-encoding";
  return { status, http10: minor === 0, headers, contentLength: length, chunked, close };
}
