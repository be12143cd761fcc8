/**
 * Every case of the differential corpus (./corpus.ts) where our HTTP/1.1 codec and llhttp disagree,
 * with the reason. ONE table: differential.test.ts fails on a difference not listed here and on a
 * listed one that is gone (or changed), so the table is always the exact list.
 *
 * `ours` and `llhttp` are summaries as the test computes them: requests `<end>/<requests served>`
 * (RequestEnd, see subjects.ts), responses `<status>` or `error <before-head|after-head>`. Entries
 * marked `bug` are where our codec is wrong (Envoy and llhttp agree against it, or it forwards what it
 * must refuse): each is reported to the codec's owner and stays here, failing nothing, until fixed;
 * the fix then fails this table and the entry goes.
 */

export interface KnownDifference {
  side: "request" | "response";
  ids: string[];
  ours: string;
  llhttp: string;
  why: string;
  bug?: true;
}

export const KNOWN_DIFFERENCES: KnownDifference[] = [
  // --- requests ---
  {
    side: "request",
    ids: [
      "te/chunked-gzip",
      "te/identity",
      "te/gzip",
      "te/deflate",
      "te/param",
      "te/prefix-x",
      "te/suffix-x",
      "te/truncated",
      "te/trailing-comma",
      "te/quoted",
      "te/two-lines-chunked-gzip",
    ],
    ours: "rejected 501/0",
    llhttp: "rejected 400/0",
    why: "A transfer coding other than a final `chunked`: Envoy answers 501 Not Implemented (`http1.invalid_transfer_encoding`), llhttp 400. Both refuse it.",
  },
  {
    side: "request",
    ids: ["te/empty"],
    ours: "rejected 501/0",
    llhttp: "rejected 400/1",
    why: "An empty Transfer-Encoding: llhttp ignores it, serves a body-less request and refuses the chunked body as the next request; ours treats it as a coding it cannot read (501) and reads nothing more. Both end the connection.",
  },
  {
    side: "request",
    ids: ["method/M-SEARCH", "method/QUERY"],
    ours: "rejected 400/0",
    llhttp: "complete/1",
    why: "Registered methods Envoy 1.40's codec refuses (400 `Bad Request`, nothing sent upstream, measured on a running Envoy 1.40 without `allow_custom_methods`); ours takes exactly Envoy's set (lib/http1/methods.ts); llhttp knows them.",
  },
  {
    side: "request",
    ids: ["cl/body-long", "cl/name-underscore"],
    ours: "incomplete/1",
    llhttp: "rejected 400/1",
    why: "The bytes after the first request (`c`, `abc`) begin the next one: llhttp refuses at the first byte no registered method starts with, ours waits for the rest of a head and checks the method once it is complete.",
  },
  {
    side: "request",
    ids: ["target/query-only", "target/relative"],
    ours: "complete/1",
    llhttp: "rejected 400/0",
    why: "A target in none of the four RFC 9112 forms (`?x`, `a/b`): llhttp refuses it in the parser; our codec (as Envoy's) takes any visible-ASCII target and leaves the path to the connection manager.",
  },
  {
    side: "request",
    ids: ["limit/head-17k", "limit/head-59k"],
    ours: "complete/1",
    llhttp: "rejected 431/0",
    why: "Head size limit: Envoy's `max_request_headers_kb` defaults to 60 KiB, node's `maxHeaderSize` to 16 KiB.",
  },
  {
    side: "request",
    ids: ["limit/headers-101", "limit/headers-2000"],
    ours: "rejected 431/0",
    llhttp: "complete/1",
    why: "Header count limit: Envoy's `max_headers_count` defaults to 100 (431); llhttp has none (node only truncates at `maxHeadersCount`, 2000).",
  },
  {
    side: "request",
    ids: ["te/ows-trailing"],
    ours: "complete/1",
    llhttp: "rejected 400/0",
    why: "`Transfer-Encoding: chunked \\t`: a field value excludes its surrounding whitespace (RFC 9110 §5.5), so it is `chunked`; llhttp refuses the trailing whitespace. Not ambiguous: both would frame the same body.",
  },
  {
    side: "request",
    ids: ["chunk/size-trailing-space", "chunk/size-trailing-tab", "chunk/ext-space-before"],
    ours: "complete/1",
    llhttp: "rejected 400/0",
    why: "Whitespace after a chunk size (RFC 9112 §7.1.1 BWS before `;`): ours takes it, llhttp's strict mode refuses it. The size itself is unambiguous.",
  },
  {
    side: "request",
    ids: ["chunk/ext-space-after", "chunk/ext-empty", "chunk/ext-latin1"],
    ours: "complete/1",
    llhttp: "rejected 400/0",
    why: "Chunk extensions are never interpreted (as Envoy): ours skips everything after `;` but control characters; llhttp validates the extension grammar.",
  },
  {
    side: "request",
    ids: ["chunk/trailer-content-length"],
    ours: "complete/1",
    llhttp: "rejected 400/0",
    why: "A `Content-Length` trailer: llhttp refuses it; ours passes it as a trailer (it frames nothing: the body has ended). RFC 9110 §6.5.1 lets a recipient ignore framing fields in trailers.",
  },
  {
    side: "request",
    ids: ["upgrade/h2c"],
    ours: "complete/1",
    llhttp: "upgrade/1",
    why: "`Upgrade: h2c`: Envoy's codec ignores it and serves the plain HTTP/1.1 request; node hands the socket to an `upgrade` listener.",
  },
  {
    side: "request",
    ids: ["version/none-http09"],
    ours: "complete/1",
    llhttp: "complete/1",
    why: "A request line without a version (HTTP/0.9): Envoy's codec takes it for HTTP/1.0, llhttp says 0.9.",
  },
  {
    side: "request",
    ids: ["version/none-http09-headers", "version/HTTP/0.9", "version/HTTP/2.0"],
    ours: "rejected 400/0",
    llhttp: "complete/1",
    why: "Versions other than HTTP/1.0 and 1.1 in a request line with headers: ours refuses them; llhttp takes any `HTTP/d.d`.",
  },
  {
    side: "request",
    ids: ["line/double-space-after-method"],
    ours: "rejected 400/0",
    llhttp: "complete/1",
    why: "`GET  / HTTP/1.1`: RFC 9112 §3 has exactly one SP; llhttp skips the extra one.",
  },

  // --- responses ---
  {
    side: "response",
    ids: ["status/HTTP/1.1_099_x"],
    ours: "error before-head",
    llhttp: "99",
    why: "Status 099: ours refuses a status below 100 (RFC 9110 §15: 1xx-5xx, three digits); llhttp takes any three digits.",
  },
  {
    side: "response",
    ids: ["status/HTTP/2.0_200_OK", "status/HTTP/0.9_200_OK", "status/leading-crlf"],
    ours: "error before-head",
    llhttp: "200",
    why: "A status line that is not `HTTP/1.0` or `HTTP/1.1` at the first byte: ours refuses it (protocol error, 502); llhttp takes any `HTTP/d.d` and skips empty lines before it.",
  },
  {
    side: "response",
    ids: ["status/HTTP/1.1_200_O0x01K", "status/HTTP/1.1_200_O0x7fK"],
    ours: "error before-head",
    llhttp: "200",
    why: "A control character in the reason phrase: ours refuses control characters anywhere in a response head (as Envoy's codec); llhttp allows them in the reason.",
  },
  {
    side: "response",
    ids: ["limit/head-17k"],
    ours: "200",
    llhttp: "error before-head",
    why: "Head size limit: Envoy's `max_response_headers_kb` defaults to 60 KiB, node's `maxHeaderSize` to 16 KiB.",
  },
  {
    side: "response",
    ids: ["cl/body-long"],
    ours: "200",
    llhttp: "error after-head",
    why: "Bytes after a complete response: ours delivers the response and closes the connection (it cannot be reused); llhttp reads them as the next response and fails the request.",
  },
  {
    side: "response",
    ids: ["chunk/size-trailing-space", "chunk/ext-space-before"],
    ours: "200",
    llhttp: "error after-head",
    why: "Whitespace after a chunk size (BWS before `;`): ours takes it, llhttp's strict mode refuses it.",
  },
  {
    side: "response",
    ids: ["nobody/204-cl0"],
    ours: "204",
    llhttp: "204",
    why: "A 204 with `Content-Length: 0`: Envoy 1.40 drops the header (a 204 has no content, RFC 9110 §8.6); llhttp keeps it.",
  },
  {
    side: "response",
    ids: ["nobody/204-cl5"],
    ours: "error before-head",
    llhttp: "204",
    why: "A 204 with a non-zero Content-Length: Envoy 1.40 calls it a protocol error (502); llhttp ignores the length.",
  },
  {
    side: "response",
    ids: ["te/ows"],
    ours: "200",
    llhttp: "200",
    why: "`Transfer-Encoding:  chunked \\t`: the value without its surrounding whitespace is `chunked` (RFC 9110 §5.5): ours decodes the chunked body; llhttp does not recognise it and reads the raw bytes until the close.",
  },
];
