/**
 * The request-head grammar (strict RFC 9112), as a pure function: the request line and header fields
 * (a registered method, token names, no obs-fold, no control characters, CR LF only, one
 * Content-Length or a Transfer-Encoding ending in `chunked`). Text is latin1, one character per byte.
 */
import { METHODS } from "./methods.js";
import { invalidInHead, listsToken, tokenEnd, trimOws } from "./syntax.js";
import type { CodecError, RawHeaders, RequestHead } from "./types.js";

/** What a request target may hold: visible ASCII. */
const TARGET = /^[\x21-\x7e]+$/;

/**
 * Parse a request head (the text before its blank line, latin1). Returns the head, or why it is
 * refused: `bad_request` (malformed), `too_many_headers` (more than `maxHeaders` fields).
 */
export function parseRequestHead(text: string, maxHeaders: number): RequestHead | CodecError {
  if (invalidInHead(text)) return "bad_request";
  let eol = text.indexOf("\r\n");
  if (eol < 0) eol = text.length;
  // Request line: method SP target SP HTTP/1.x; or `method SP target` (HTTP/0.9).
  const sp1 = text.indexOf(" ");
  if (sp1 <= 0 || sp1 > eol) return "bad_request";
  const method = text.slice(0, sp1);
  let sp2 = text.indexOf(" ", sp1 + 1);
  if (sp2 > eol) sp2 = -1;
  const target = text.slice(sp1 + 1, sp2 < 0 ? eol : sp2);
  // A registered method only (a Set hit is also a token), as Envoy's codec: see methods.ts.
  if (!METHODS.has(method) || !TARGET.test(target)) return "bad_request";
  let http10 = true;
  if (sp2 >= 0) {
    const version = text.slice(sp2 + 1, eol);
    if (version === "HTTP/1.1") http10 = false;
    else if (version !== "HTTP/1.0") return "bad_request";
  } else if (eol !== text.length) {
    // HTTP/0.9 has no header lines.
    return "bad_request";
  }

  const rawHeaders: RawHeaders = [];
  let host: string | undefined | null;
  let contentLength = -1;
  let transferEncoding: string | undefined;
  let connection = "";
  let upgradeValue: string | undefined;
  let expect = false;
  let count = 0;
  let at = eol + 2;
  while (at < text.length) {
    let end = text.indexOf("\r\n", at);
    if (end < 0) end = text.length;
    // The name: a token up to the colon (so obs-fold, a line starting with whitespace, is refused:
    // RFC 9112 §5.2; and whitespace before the colon).
    const colon = tokenEnd(text, at, end);
    if (colon === at || colon === end || text.charCodeAt(colon) !== 58) return "bad_request";
    const name = text.slice(at, colon);
    const value = trimOws(text, colon + 1, end);
    at = end + 2;
    if (++count > maxHeaders) return "too_many_headers";
    rawHeaders.push(name, value);
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === "host") host = host === undefined ? value : null;
        break;
      case 6:
        if (name.toLowerCase() === "expect") expect = value.toLowerCase() === "100-continue";
        break;
      case 7:
        if (name.toLowerCase() === "upgrade") upgradeValue = value;
        break;
      case 10:
        if (name.toLowerCase() === "connection")
          connection = connection === "" ? value : `${connection},${value}`;
        break;
      case 14:
        if (name.toLowerCase() === "content-length") {
          // One Content-Length, digits only (a repeated one, even equal, is refused as Envoy does).
          if (contentLength >= 0 || !/^\d{1,15}$/.test(value)) return "bad_request";
          contentLength = Number(value);
        }
        break;
      case 17:
        if (name.toLowerCase() === "transfer-encoding")
          transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
        break;
    }
  }

  let framing: RequestHead["framing"] = contentLength > 0 ? "length" : "none";
  if (transferEncoding !== undefined) {
    // Both framings at once: refused (RFC 9112 §6.1; Envoy without allow_chunked_length).
    if (contentLength >= 0) return "bad_request";
    const codings = transferEncoding.split(",").map((c) => c.trim().toLowerCase());
    // `chunked` twice is malformed; a coding after it is one we cannot read (501, as Envoy).
    if (codings.indexOf("chunked") !== codings.lastIndexOf("chunked")) return "bad_request";
    framing = codings[codings.length - 1] === "chunked" ? "chunked" : "unknown";
  }
  const close = connection !== "" && listsToken(connection, "close");
  const keepAlive = http10 ? connection !== "" && listsToken(connection, "keep-alive") && !close : !close;
  const upgrade =
    upgradeValue !== undefined && connection !== "" && listsToken(connection, "upgrade")
      ? upgradeValue.toLowerCase()
      : null;
  return {
    method,
    target,
    http10,
    rawHeaders,
    host,
    transferEncoding,
    framing,
    contentLength: framing === "length" ? contentLength : 0,
    keepAlive,
    upgrade,
    expectContinue: expect && !http10,
    body: null,
    trailers: null,
  };
}
