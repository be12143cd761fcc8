/**
 * The HTTP/1.1 differential corpus, generated from compact tables (a test is data): raw requests and
 * raw responses covering RFC 9112's message grammar and framing rules, each with a stable id
 * (`group/variant`) that the known-differences table (./known_differences.ts) names.
 */

export interface RawCase {
  id: string;
  bytes: Buffer;
  /** Responses only: the method of the request answered (HEAD: no body). */
  method?: string;
}

const CRLF = "\r\n";
const bin = (s: string): Buffer => Buffer.from(s, "latin1");
const hex2 = (c: number): string => `0x${c.toString(16).padStart(2, "0")}`;

/** Control characters except HTAB, CR and LF (each gets its own case), then DEL. */
const CTLS: number[] = [
  ...Array.from({ length: 32 }, (_, i) => i).filter((c) => c !== 9 && c !== 10 && c !== 13),
  0x7f,
];

/** RFC 9110 delimiters: not allowed in a token (a method or a field name). */
const DELIMITERS = ['"', "(", ")", ",", "/", ":", ";", "<", "=", ">", "?", "@", "[", "\\", "]", "{", "}"];

/**
 * Header lines that are one case each in a request and in a response: the field grammar (names,
 * values, whitespace, folding, line ends), shared by both corpora.
 */
function fieldLines(): Array<[string, string]> {
  const lines: Array<[string, string]> = [
    ["plain", "X-A: b"],
    ["no-space", "X-A:b"],
    ["ows-around", "X-A: \t b c \t "],
    ["empty-value", "X-A:"],
    ["empty-value-space", "X-A: "],
    ["token-specials", "!#$%&'*+-.^_`|~09AZaz: v"],
    ["space-before-colon", "X-A : b"],
    ["tab-before-colon", "X-A\t: b"],
    ["no-colon", "X-A b"],
    ["empty-name", ": b"],
    ["colon-in-value", "X-A: b:c"],
    ["latin1-value", "X-A: caf\xe9"],
    ["high-bytes-value", "X-A: \x80\xff"],
    ["latin1-name", "X-\xe9: b"],
    ["obs-fold-space", "X-A: b\r\n c"],
    ["obs-fold-tab", "X-A: b\r\n\tc"],
    ["bare-cr-value", "X-A: b\rc"],
    ["bare-cr-end", "X-A: b\r"],
    ["bare-lf-inside", "X-A: b\nX-B: c"],
    ["duplicate", "X-A: 1\r\nX-A: 2"],
    ["long-value-8k", `X-A: ${"v".repeat(8 * 1024)}`],
    ["quoted-value", 'X-A: "a, b"; q=1'],
  ];
  for (const d of DELIMITERS) lines.push([`name-delimiter-${hex2(d.charCodeAt(0))}`, `X${d}A: b`]);
  for (const c of CTLS) {
    lines.push([`value-ctl-${hex2(c)}`, `X-A: b${String.fromCharCode(c)}c`]);
    lines.push([`name-ctl-${hex2(c)}`, `X${String.fromCharCode(c)}A: b`]);
  }
  return lines;
}

// --- requests ---

/** `request line`, headers, blank line, body. */
function request(line: string, headers: string[], body = ""): Buffer {
  return bin(`${line}${CRLF}${headers.map((h) => `${h}${CRLF}`).join("")}${CRLF}${body}`);
}

const HOST = "Host: a.test";
const CHUNKED_BODY = "3\r\nabc\r\n0\r\n\r\n";

export function requestCorpus(): RawCase[] {
  const cases: RawCase[] = [];
  const add = (id: string, bytes: Buffer | string): void => {
    cases.push({ id, bytes: typeof bytes === "string" ? bin(bytes) : bytes });
  };

  // Methods: registered, extension tokens, and non-tokens.
  const methods = [
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "OPTIONS",
    "TRACE",
    "PATCH",
    "PROPFIND",
    "M-SEARCH",
    "PURGE",
    "SOURCE",
    "UNSUBSCRIBE",
    // Registered with IANA, refused by Envoy 1.40's codec (and llhttp).
    "BASELINE-CONTROL",
    "QUERY",
    "FOO",
    "X!#$%&'*+.^_`|~",
    "get",
    "Get",
    "G(T",
    "G@T",
    "G{T",
    'G"T',
    "G\xc9T",
    "X".repeat(64),
  ];
  for (const m of methods)
    add(`method/${m.length > 20 ? "long" : escapeId(m)}`, request(`${m} / HTTP/1.1`, [HOST]));
  add("method/connect-authority", request("CONNECT a.test:443 HTTP/1.1", [HOST]));
  add("method/connect-origin-form", request("CONNECT / HTTP/1.1", [HOST]));
  add("method/options-asterisk", request("OPTIONS * HTTP/1.1", [HOST]));

  // Request targets.
  const targets: Array<[string, string]> = [
    ["root", "/"],
    ["query", "/a/b?c=d&e=%20"],
    ["asterisk-get", "*"],
    ["absolute", "http://a.test/b?c"],
    ["absolute-https", "https://a.test:8443/"],
    ["double-slash", "//x/y"],
    ["percent-00", "/%00"],
    ["percent-invalid", "/%zz"],
    ["fragment", "/a#f"],
    ["query-only", "?x"],
    ["relative", "a/b"],
    ["del", "/a\x7fb"],
    ["latin1", "/caf\xe9"],
    ["ctl-01", "/a\x01b"],
    ["tab", "/a\tb"],
    ["quote", '/a"b'],
    ["unwise", "/{}|\\^`"],
    ["long-8k", `/${"a".repeat(8 * 1024)}`],
  ];
  for (const [id, t] of targets) add(`target/${id}`, request(`GET ${t} HTTP/1.1`, [HOST]));
  add("target/empty", request("GET  HTTP/1.1", [HOST]));
  add("target/space-inside", request("GET /a b HTTP/1.1", [HOST]));

  // Versions.
  const versions = [
    "HTTP/1.1",
    "HTTP/1.0",
    "HTTP/1.2",
    "HTTP/1.9",
    "HTTP/2.0",
    "HTTP/3.0",
    "HTTP/0.9",
    "HTTP/9.9",
    "http/1.1",
    "HTTP/1.10",
    "HTTP/11",
    "HTTP/1",
    "HTTP/01.1",
    "HTTPS/1.1",
    "HTTP/1.1x",
    "HTTP/1.1 ",
    "HTTP/1.1\t",
    "HTTP/ 1.1",
    "HTTP/1.1 x",
  ];
  for (const v of versions) add(`version/${escapeId(v)}`, request(`GET / ${v}`, [HOST]));
  add("version/none-http09", "GET /\r\n\r\n");
  add("version/none-http09-headers", request("GET /", [HOST]));

  // Request-line shape and line ends.
  add("line/leading-crlf", `\r\n\r\nGET / HTTP/1.1\r\n${HOST}\r\n\r\n`);
  add("line/leading-lf", `\nGET / HTTP/1.1\r\n${HOST}\r\n\r\n`);
  add("line/lf-only", `GET / HTTP/1.1\n${HOST}\n\n`);
  add("line/lf-request-line", `GET / HTTP/1.1\n${HOST}\r\n\r\n`);
  add("line/cr-only", `GET / HTTP/1.1\r${HOST}\r\r`);
  add("line/tab-separators", request("GET\t/\tHTTP/1.1", [HOST]));
  add("line/double-space-after-method", request("GET  / HTTP/1.1", [HOST]));
  add("line/leading-space", request(" GET / HTTP/1.1", [HOST]));
  add("line/no-headers", "GET / HTTP/1.1\r\n\r\n");
  add("line/first-header-folded", request("GET / HTTP/1.1", [` ${HOST}`]));

  // Header fields.
  for (const [id, line] of fieldLines()) add(`field/${id}`, request("GET / HTTP/1.1", [HOST, line]));
  add("field/host-twice", request("GET / HTTP/1.1", [HOST, HOST]));
  add("field/host-missing", request("GET / HTTP/1.1", ["X-A: b"]));
  add("field/host-obs-fold", request("GET / HTTP/1.1", ["Host: a", " .test"]));

  // Limits: Envoy's max_headers_count (100) and max_request_headers_kb (60); llhttp's 16 KiB head.
  // `headers-N`: N header lines in all, Host included.
  const many = (n: number): string[] => [HOST, ...Array.from({ length: n - 1 }, (_, i) => `X-${i}: v`)];
  add("limit/headers-100", request("GET / HTTP/1.1", many(100)));
  add("limit/headers-101", request("GET / HTTP/1.1", many(101)));
  add("limit/headers-2000", request("GET / HTTP/1.1", many(2000)));
  const sized = (kib: number): string[] => [HOST, `X-A: ${"v".repeat(kib * 1024 - 64)}`];
  add("limit/head-15k", request("GET / HTTP/1.1", sized(15)));
  add("limit/head-17k", request("GET / HTTP/1.1", sized(17)));
  add("limit/head-59k", request("GET / HTTP/1.1", sized(59)));
  add("limit/head-61k", request("GET / HTTP/1.1", sized(61)));
  add("limit/head-61k-unterminated", bin(`GET / HTTP/1.1\r\n${HOST}\r\nX-A: ${"v".repeat(61 * 1024)}`));

  // Content-Length.
  const lengths: Array<[string, string, string]> = [
    ["zero", "0", ""],
    ["three", "3", "abc"],
    ["leading-zeros", "003", "abc"],
    ["plus", "+3", "abc"],
    ["minus", "-3", "abc"],
    ["ows", " 3 ", "abc"],
    ["list-same", "3,3", "abc"],
    ["list-same-space", "3, 3", "abc"],
    ["list-differ", "3,4", "abc"],
    ["hex", "0x3", "abc"],
    ["trailing-junk", "3a", "abc"],
    ["empty", "", "abc"],
    ["exponent", "3e0", "abc"],
    ["decimal", "3.0", "abc"],
    ["huge", "99999999999999999999", "abc"],
    ["tab-inside", "3\t3", "abc"],
    ["body-short", "5", "abc"],
    ["body-long", "2", "abc"],
  ];
  for (const [id, v, body] of lengths)
    add(`cl/${id}`, request("POST / HTTP/1.1", [HOST, `Content-Length: ${v}`], body));
  add("cl/twice-same", request("POST / HTTP/1.1", [HOST, "Content-Length: 3", "Content-Length: 3"], "abc"));
  add(
    "cl/twice-differ",
    request("POST / HTTP/1.1", [HOST, "Content-Length: 3", "Content-Length: 4"], "abcd"),
  );
  add("cl/get-with-body", request("GET / HTTP/1.1", [HOST, "Content-Length: 3"], "abc"));
  add("cl/http10", request("POST / HTTP/1.0", [HOST, "Content-Length: 3"], "abc"));
  add("cl/name-space-before-colon", request("POST / HTTP/1.1", [HOST, "Content-Length : 3"], "abc"));
  add("cl/name-underscore", request("POST / HTTP/1.1", [HOST, "Content_Length: 3"], "abc"));

  // Transfer-Encoding (each with a valid chunked body).
  const codings: Array<[string, string]> = [
    ["chunked", "chunked"],
    ["case-upper", "CHUNKED"],
    ["case-mixed", "cHuNkEd"],
    ["ows-leading", " \tchunked"],
    ["ows-trailing", "chunked \t"],
    ["twice-list", "chunked, chunked"],
    ["gzip-chunked", "gzip, chunked"],
    ["chunked-gzip", "chunked, gzip"],
    ["identity", "identity"],
    ["identity-chunked", "identity, chunked"],
    ["gzip", "gzip"],
    ["deflate", "deflate"],
    ["param", "chunked;q=1"],
    ["prefix-x", "xchunked"],
    ["suffix-x", "chunkedx"],
    ["truncated", "chunk"],
    ["trailing-comma", "chunked,"],
    ["leading-comma", ",chunked"],
    ["empty-element", "gzip,,chunked"],
    ["empty", ""],
    ["quoted", '"chunked"'],
    ["vtab", "\x0bchunked"],
  ];
  for (const [id, v] of codings)
    add(`te/${id}`, request("POST / HTTP/1.1", [HOST, `Transfer-Encoding: ${v}`], CHUNKED_BODY));
  const teLines: Array<[string, string[]]> = [
    ["two-lines-chunked", ["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"]],
    ["two-lines-gzip-chunked", ["Transfer-Encoding: gzip", "Transfer-Encoding: chunked"]],
    ["two-lines-chunked-gzip", ["Transfer-Encoding: chunked", "Transfer-Encoding: gzip"]],
    ["two-lines-identity-chunked", ["Transfer-Encoding: identity", "Transfer-Encoding: chunked"]],
    ["name-space-before-colon", ["Transfer-Encoding : chunked"]],
    ["name-underscore", ["Transfer_Encoding: chunked"]],
    ["obs-folded-value", ["Transfer-Encoding: gzip,", " chunked"]],
    ["cl-then-te", ["Content-Length: 3", "Transfer-Encoding: chunked"]],
    ["te-then-cl", ["Transfer-Encoding: chunked", "Content-Length: 3"]],
    ["cl0-and-te", ["Content-Length: 0", "Transfer-Encoding: chunked"]],
    ["te-identity-and-cl", ["Transfer-Encoding: identity", "Content-Length: 3"]],
  ];
  for (const [id, lines] of teLines)
    add(`te/${id}`, request("POST / HTTP/1.1", [HOST, ...lines], CHUNKED_BODY));
  add("te/http10-chunked", request("POST / HTTP/1.0", [HOST, "Transfer-Encoding: chunked"], CHUNKED_BODY));
  add("te/get-chunked", request("GET / HTTP/1.1", [HOST, "Transfer-Encoding: chunked"], CHUNKED_BODY));

  // Chunked bodies: size lines, extensions, chunk ends, last chunk, trailers.
  const chunked = (body: string): Buffer =>
    request("POST / HTTP/1.1", [HOST, "Transfer-Encoding: chunked"], body);
  const sizeLines: Array<[string, string]> = [
    ["size-leading-zeros", "0003"],
    ["size-upper-hex", "A"],
    ["size-trailing-space", "3 "],
    ["size-trailing-tab", "3\t"],
    ["size-leading-space", " 3"],
    ["size-plus", "+3"],
    ["size-minus", "-3"],
    ["size-0x", "0x3"],
    ["size-not-hex", "g"],
    ["size-empty", ""],
    ["ext-name", "3;ext"],
    ["ext-value", "3;ext=v"],
    ["ext-quoted", '3;ext="a b"'],
    ["ext-quoted-escape", '3;ext="a\\"b"'],
    ["ext-two", "3;a=1;b=2"],
    ["ext-space-before", "3 ;ext"],
    ["ext-space-after", "3; ext"],
    ["ext-empty", "3;"],
    ["ext-nul", "3;e\x00"],
    ["ext-ctl", "3;e=\x01"],
    ["ext-latin1", "3;e=\xe9"],
    ["ext-long-4k", `3;e=${"x".repeat(4096)}`],
  ];
  for (const [id, line] of sizeLines) {
    const data = /^[ \t+-]*0*A/.test(line) ? "abcdefghij" : "abc";
    add(`chunk/${id}`, chunked(`${line}\r\n${data}\r\n0\r\n\r\n`));
  }
  const bodies: Array<[string, string]> = [
    ["two-chunks", "1\r\na\r\n2\r\nbc\r\n0\r\n\r\n"],
    ["only-last-chunk", "0\r\n\r\n"],
    ["last-chunk-zeros", "3\r\nabc\r\n000\r\n\r\n"],
    ["last-chunk-ext", "3\r\nabc\r\n0;e=1\r\n\r\n"],
    ["size-lf-only", "3\nabc\r\n0\r\n\r\n"],
    ["data-lf-only-end", "3\r\nabc\n0\r\n\r\n"],
    ["data-too-long", "3\r\nabcd\r\n0\r\n\r\n"],
    ["data-no-crlf", "3\r\nabc0\r\n\r\n"],
    ["size-overflow-64bit", "ffffffffffffffffff\r\nabc\r\n0\r\n\r\n"],
    ["size-huge-incomplete", "fffffff\r\nabc"],
    ["last-chunk-missing-blank", "3\r\nabc\r\n0\r\n"],
    ["last-chunk-lf-blank", "3\r\nabc\r\n0\r\n\n"],
    ["trailer", "3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"],
    ["trailers-two", "3\r\nabc\r\n0\r\nX-T: 1\r\nX-U: 2\r\n\r\n"],
    ["trailer-space-before-colon", "3\r\nabc\r\n0\r\nX-T : 1\r\n\r\n"],
    ["trailer-bad-name", "3\r\nabc\r\n0\r\nX(T: 1\r\n\r\n"],
    ["trailer-no-colon", "3\r\nabc\r\n0\r\nXT\r\n\r\n"],
    ["trailer-obs-fold", "3\r\nabc\r\n0\r\nX-T: 1\r\n 2\r\n\r\n"],
    ["trailer-nul", "3\r\nabc\r\n0\r\nX-T: 1\x002\r\n\r\n"],
    ["trailer-content-length", "3\r\nabc\r\n0\r\nContent-Length: 9\r\n\r\n"],
    ["trailer-bare-lf", "3\r\nabc\r\n0\r\nX-T: 1\n\r\n"],
  ];
  for (const [id, body] of bodies) add(`chunk/${id}`, chunked(body));

  // Connection persistence, pipelining, upgrades, incomplete messages.
  const get = (path: string, extra: string[] = []): string =>
    `GET ${path} HTTP/1.1\r\n${HOST}\r\n${extra.map((h) => `${h}\r\n`).join("")}\r\n`;
  add("pipeline/two-gets", get("/1") + get("/2"));
  add("pipeline/three-gets-blank-line-between", `${get("/1")}\r\n${get("/2")}${get("/3")}`);
  add("pipeline/post-cl-then-get", `POST /1 HTTP/1.1\r\n${HOST}\r\nContent-Length: 3\r\n\r\nabc${get("/2")}`);
  add(
    "pipeline/post-chunked-then-get",
    `POST /1 HTTP/1.1\r\n${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n${CHUNKED_BODY}${get("/2")}`,
  );
  add("pipeline/get-then-garbage", `${get("/1")}GARBAGE\r\n\r\n`);
  add("pipeline/close-then-get", get("/1", ["Connection: close"]) + get("/2"));
  add("pipeline/http10-then-get", `GET /1 HTTP/1.0\r\n${HOST}\r\n\r\n${get("/2")}`);
  add(
    "pipeline/http10-keep-alive-then-get",
    `GET /1 HTTP/1.0\r\n${HOST}\r\nConnection: keep-alive\r\n\r\n${get("/2")}`,
  );
  add("pipeline/keep-alive-close-list", get("/1", ["Connection: keep-alive, close"]) + get("/2"));
  add("pipeline/connection-close-upper", get("/1", ["Connection: CLOSE"]) + get("/2"));
  add("upgrade/websocket", get("/", ["Connection: Upgrade", "Upgrade: websocket"]));
  add(
    "upgrade/h2c",
    get("/", [
      "Connection: Upgrade, HTTP2-Settings",
      "Upgrade: h2c",
      "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA",
    ]),
  );
  add("upgrade/no-connection-token", get("/", ["Upgrade: websocket"]));
  add("upgrade/connection-only", get("/", ["Connection: upgrade"]));
  add(
    "expect/100-continue",
    request("POST / HTTP/1.1", [HOST, "Expect: 100-continue", "Content-Length: 3"], "abc"),
  );
  add("incomplete/head", `GET / HTTP/1.1\r\n${HOST}\r\n`);
  add("incomplete/request-line", "GET / HTT");
  add("incomplete/body-cl", request("POST / HTTP/1.1", [HOST, "Content-Length: 10"], "abc"));
  add("incomplete/body-chunked", chunked("3\r\nab"));
  return cases;
}

// --- responses ---

function response(line: string, headers: string[], body = ""): Buffer {
  return bin(`${line}${CRLF}${headers.map((h) => `${h}${CRLF}`).join("")}${CRLF}${body}`);
}

export function responseCorpus(): RawCase[] {
  const cases: RawCase[] = [];
  const add = (id: string, bytes: Buffer | string, method?: string): void => {
    const c: RawCase = { id, bytes: typeof bytes === "string" ? bin(bytes) : bytes };
    if (method !== undefined) c.method = method;
    cases.push(c);
  };
  const CL2 = "Content-Length: 2";

  // Status lines.
  const statusLines = [
    "HTTP/1.1 200 OK",
    "HTTP/1.1 200",
    "HTTP/1.1 200 ",
    "HTTP/1.1 201 Created",
    "HTTP/1.1 404 Not Found",
    "HTTP/1.1 500 Internal Server Error",
    "HTTP/1.1 299 x",
    "HTTP/1.1 600 x",
    "HTTP/1.1 999 x",
    "HTTP/1.1 099 x",
    "HTTP/1.1 1000 x",
    "HTTP/1.1 20 x",
    "HTTP/1.1 2000",
    "HTTP/1.1 abc x",
    "HTTP/1.1 -20 x",
    "HTTP/1.0 200 OK",
    "HTTP/1.2 200 OK",
    "HTTP/2 200",
    "HTTP/2.0 200 OK",
    "HTTP/0.9 200 OK",
    "http/1.1 200 OK",
    "HTTP/1.1  200 OK",
    "HTTP/1.1 200  OK",
    "HTTP/1.1\t200 OK",
    "HTTP/1.1 200\tOK",
    "HTTP/1.1 200 caf\xe9",
    "HTTP/1.1 200 O\x01K",
    "HTTP/1.1 200 O\x7fK",
    "ICY 200 OK",
    "HTTP/11 200 OK",
    "HTTP/1.1 200 OK ",
    " HTTP/1.1 200 OK",
    "HTTPS/1.1 200 OK",
  ];
  for (const s of statusLines) add(`status/${escapeId(s)}`, response(s, [CL2], "ok"));
  add("status/lf-only-head", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok");
  add("status/leading-crlf", `\r\n${response("HTTP/1.1 200 OK", [CL2], "ok").toString("latin1")}`);

  // Header fields.
  for (const [id, line] of fieldLines()) add(`field/${id}`, response("HTTP/1.1 200 OK", [line, CL2], "ok"));
  const many = (n: number): string[] => Array.from({ length: n }, (_, i) => `X-${i}: v`);
  add("limit/headers-101", response("HTTP/1.1 200 OK", [CL2, ...many(101)], "ok"));
  add("limit/head-15k", response("HTTP/1.1 200 OK", [CL2, `X-A: ${"v".repeat(15 * 1024)}`], "ok"));
  add("limit/head-17k", response("HTTP/1.1 200 OK", [CL2, `X-A: ${"v".repeat(17 * 1024)}`], "ok"));
  add("limit/head-61k", response("HTTP/1.1 200 OK", [CL2, `X-A: ${"v".repeat(61 * 1024)}`], "ok"));

  // Content-Length.
  const lengths: Array<[string, string, string]> = [
    ["zero", "0", ""],
    ["exact", "2", "ok"],
    ["leading-zeros", "002", "ok"],
    ["plus", "+2", "ok"],
    ["minus", "-2", "ok"],
    ["list-same", "2,2", "ok"],
    ["list-differ", "2,3", "ok"],
    ["hex", "0x2", "ok"],
    ["junk", "2a", "ok"],
    ["empty", "", "ok"],
    ["huge", "99999999999999999999", "ok"],
    ["body-short", "5", "ok"],
    ["body-long", "1", "ok"],
  ];
  for (const [id, v, body] of lengths)
    add(`cl/${id}`, response("HTTP/1.1 200 OK", [`Content-Length: ${v}`], body));
  add("cl/twice-same", response("HTTP/1.1 200 OK", [CL2, CL2], "ok"));
  add("cl/twice-differ", response("HTTP/1.1 200 OK", [CL2, "Content-Length: 3"], "ok"));
  add("cl/until-close", response("HTTP/1.1 200 OK", [], "until close"));
  add("cl/until-close-http10", response("HTTP/1.0 200 OK", [], "until close"));

  // Transfer-Encoding (valid chunked body).
  const teValues: Array<[string, string]> = [
    ["chunked", "chunked"],
    ["case-upper", "CHUNKED"],
    ["ows", " chunked \t"],
    ["gzip-chunked", "gzip, chunked"],
    ["chunked-gzip", "chunked, gzip"],
    ["twice-list", "chunked, chunked"],
    ["identity", "identity"],
    ["gzip", "gzip"],
    ["prefix-x", "xchunked"],
    ["param", "chunked;q=1"],
    ["empty", ""],
  ];
  for (const [id, v] of teValues)
    add(`te/${id}`, response("HTTP/1.1 200 OK", [`Transfer-Encoding: ${v}`], "2\r\nok\r\n0\r\n\r\n"));
  add("te/and-cl", response("HTTP/1.1 200 OK", ["Transfer-Encoding: chunked", CL2], "2\r\nok\r\n0\r\n\r\n"));
  add(
    "te/cl-then-te",
    response("HTTP/1.1 200 OK", [CL2, "Transfer-Encoding: chunked"], "2\r\nok\r\n0\r\n\r\n"),
  );
  add(
    "te/http10-chunked",
    response("HTTP/1.0 200 OK", ["Transfer-Encoding: chunked"], "2\r\nok\r\n0\r\n\r\n"),
  );

  // Chunked bodies.
  const chunked = (body: string): Buffer => response("HTTP/1.1 200 OK", ["Transfer-Encoding: chunked"], body);
  const chunkBodies: Array<[string, string]> = [
    ["two-chunks", "1\r\no\r\n1\r\nk\r\n0\r\n\r\n"],
    ["size-leading-zeros", "0002\r\nok\r\n0\r\n\r\n"],
    ["size-upper-hex", "A\r\n0123456789\r\n0\r\n\r\n"],
    ["size-trailing-space", "2 \r\nok\r\n0\r\n\r\n"],
    ["size-leading-space", " 2\r\nok\r\n0\r\n\r\n"],
    ["size-plus", "+2\r\nok\r\n0\r\n\r\n"],
    ["size-minus", "-2\r\nok\r\n0\r\n\r\n"],
    ["size-0x", "0x2\r\nok\r\n0\r\n\r\n"],
    ["size-not-hex", "g\r\nok\r\n0\r\n\r\n"],
    ["size-empty", "\r\nok\r\n0\r\n\r\n"],
    ["size-overflow", "ffffffffffffffffff\r\nok\r\n0\r\n\r\n"],
    ["ext", "2;e=1\r\nok\r\n0\r\n\r\n"],
    ["ext-quoted", '2;e="a b"\r\nok\r\n0\r\n\r\n'],
    ["ext-nul", "2;e\x00\r\nok\r\n0\r\n\r\n"],
    ["ext-space-before", "2 ;e\r\nok\r\n0\r\n\r\n"],
    ["size-lf-only", "2\nok\r\n0\r\n\r\n"],
    ["data-lf-end", "2\r\nok\n0\r\n\r\n"],
    ["data-too-long", "2\r\nokk\r\n0\r\n\r\n"],
    ["last-chunk-zeros", "2\r\nok\r\n000\r\n\r\n"],
    ["last-chunk-missing-blank", "2\r\nok\r\n0\r\n"],
    ["cut-in-data", "5\r\nok"],
    ["trailer", "2\r\nok\r\n0\r\nX-T: 1\r\n\r\n"],
    ["trailer-bad-name", "2\r\nok\r\n0\r\nX(T: 1\r\n\r\n"],
    ["trailer-space-before-colon", "2\r\nok\r\n0\r\nX-T : 1\r\n\r\n"],
    ["trailer-no-colon", "2\r\nok\r\n0\r\nXT\r\n\r\n"],
    ["trailer-obs-fold", "2\r\nok\r\n0\r\nX-T: 1\r\n 2\r\n\r\n"],
    ["trailer-nul", "2\r\nok\r\n0\r\nX-T: 1\x002\r\n\r\n"],
  ];
  for (const [id, body] of chunkBodies) add(`chunk/${id}`, chunked(body));

  // Responses without a body, interim responses.
  add("nobody/head-cl", response("HTTP/1.1 200 OK", ["Content-Length: 10"]), "HEAD");
  add("nobody/head-chunked", response("HTTP/1.1 200 OK", ["Transfer-Encoding: chunked"]), "HEAD");
  add("nobody/204", response("HTTP/1.1 204 No Content", []));
  add("nobody/204-cl0", response("HTTP/1.1 204 No Content", ["Content-Length: 0"]));
  add("nobody/204-cl5", response("HTTP/1.1 204 No Content", ["Content-Length: 5"]));
  add("nobody/204-chunked", response("HTTP/1.1 204 No Content", ["Transfer-Encoding: chunked"]));
  add("nobody/304-cl", response("HTTP/1.1 304 Not Modified", ["Content-Length: 10"]));
  add("nobody/304", response("HTTP/1.1 304 Not Modified", []));
  add(
    "interim/100-then-200",
    `HTTP/1.1 100 Continue\r\n\r\n${response("HTTP/1.1 200 OK", [CL2], "ok").toString("latin1")}`,
  );
  add(
    "interim/two-100s",
    `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n${response("HTTP/1.1 200 OK", [CL2], "ok").toString("latin1")}`,
  );
  add(
    "interim/102",
    `HTTP/1.1 102 Processing\r\n\r\n${response("HTTP/1.1 200 OK", [CL2], "ok").toString("latin1")}`,
  );
  add(
    "interim/103-headers",
    `HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n${response("HTTP/1.1 200 OK", [CL2], "ok").toString("latin1")}`,
  );
  add("interim/100-only", "HTTP/1.1 100 Continue\r\n\r\n");
  add(
    "interim/101",
    response("HTTP/1.1 101 Switching Protocols", ["Connection: upgrade", "Upgrade: websocket"]),
  );
  add("hop/connection-close", response("HTTP/1.1 200 OK", ["Connection: close", CL2], "ok"));
  add(
    "hop/keep-alive",
    response("HTTP/1.1 200 OK", ["Connection: keep-alive", "Keep-Alive: timeout=5", CL2], "ok"),
  );
  add("hop/proxy-connection", response("HTTP/1.1 200 OK", ["Proxy-Connection: close", CL2], "ok"));
  add("garbage/not-http", "SSH-2.0-OpenSSH\r\n\r\n");
  add("garbage/empty", "");
  add("garbage/head-only-cut", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n");
  add(
    "garbage/extra-after-body",
    `${response("HTTP/1.1 200 OK", [CL2], "ok").toString("latin1")}HTTP/1.1 200 OK\r\n\r\n`,
  );
  return cases;
}

/** A printable id for a variant (control and non-ASCII characters as 0xNN, spaces as `_`). */
function escapeId(s: string): string {
  let out = "";
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    out += c === 32 ? "_" : c < 0x21 || c > 0x7e ? hex2(c) : ch;
  }
  return out;
}
