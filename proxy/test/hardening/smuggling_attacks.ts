/**
 * Request-smuggling attacks on one downstream HTTP/1.1 connection (data for smuggling.test.ts): the
 * CL.TE, TE.CL and TE.TE families and the variants of PortSwigger's "HTTP Desync Attacks" and
 * "HTTP/1.1 must die" research (Transfer-Encoding obfuscated by spaces, tabs, case, duplicates,
 * `chunked, identity`; Content-Length with signs, leading zeros, lists; chunk-size tricks;
 * Transfer-Encoding in HTTP/1.0; pipelined second requests; bare CR/LF and NUL; upgrades).
 *
 * The smuggled request always targets `/smuggled`. `expect` is what the client must see (each
 * response's status in order) and the paths the upstream must receive, in order: what a strict
 * parser reading the client's bytes sees, never more.
 */

export interface Attack {
  id: string;
  family: "CL.TE" | "TE.CL" | "TE.TE" | "CL" | "chunk" | "HTTP/1.0" | "pipeline" | "line" | "upgrade";
  /** The bytes sent on one connection (latin1). */
  bytes: string;
  /** Extra YAML under the HCM (e.g. accepting HTTP/1.0). */
  hcmExtra?: string;
  expect: {
    /** The statuses the client receives, in order. */
    statuses: number[];
    /** The request paths the upstream receives, in order. */
    upstream: string[];
  };
}

const HOST = "Host: a.test\r\n";
/** A complete smuggled request, as the attacker hides it in a body. */
const SMUGGLED = `GET /smuggled HTTP/1.1\r\n${HOST}\r\n`;
/** SMUGGLED as one chunk, then the last chunk: a chunked body a front end would forward whole. */
const SMUGGLED_CHUNKED = `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`;

const post = (headers: string, body: string, line = "POST / HTTP/1.1"): string =>
  `${line}\r\n${HOST}${headers}\r\n${body}`;

const REJECTED = (status: number): Attack["expect"] => ({ statuses: [status], upstream: [] });

/**
 * Transfer-Encoding lines a front end and a back end may read differently (TE.TE), each sent with
 * a Content-Length that frames the body otherwise: the proxy must refuse, never forward one framing
 * and let the upstream read the other.
 */
const OBFUSCATED_TE: Array<[string, string, number]> = [
  ["plain", "Transfer-Encoding: chunked", 400],
  ["upper-case", "TRANSFER-ENCODING: CHUNKED", 400],
  ["no-space", "Transfer-Encoding:chunked", 400],
  ["tab-before-value", "Transfer-Encoding:\tchunked", 400],
  ["trailing-space", "Transfer-Encoding: chunked ", 400],
  ["space-before-colon", "Transfer-Encoding : chunked", 400],
  ["tab-before-colon", "Transfer-Encoding\t: chunked", 400],
  ["leading-space-line", " Transfer-Encoding: chunked", 400],
  ["obs-fold-value", "Transfer-Encoding:\r\n chunked", 400],
  ["bare-lf-before", "X: y\nTransfer-Encoding: chunked", 400],
  ["bare-cr-before", "X: y\rTransfer-Encoding: chunked", 400],
  ["vtab-value", "Transfer-Encoding: \x0bchunked", 400],
  ["nul-in-value", "Transfer-Encoding: chun\x00ked", 400],
  ["xchunked", "Transfer-Encoding: xchunked", 400],
  ["quoted", 'Transfer-Encoding: "chunked"', 400],
  ["chunked-identity", "Transfer-Encoding: chunked, identity", 400],
  ["identity-chunked", "Transfer-Encoding: identity, chunked", 400],
  ["chunked-twice-list", "Transfer-Encoding: chunked, chunked", 400],
  ["chunked-twice-lines", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", 400],
  ["chunked-then-x", "Transfer-Encoding: chunked\r\nTransfer-Encoding: x", 400],
  ["x-then-chunked", "Transfer-Encoding: x\r\nTransfer-Encoding: chunked", 400],
  ["underscore-name", "Transfer_Encoding: chunked", 400],
];

export function attacks(): Attack[] {
  const list: Attack[] = [];

  // CL.TE and TE.CL: both framings in one request.
  list.push({
    id: "cl-te",
    family: "CL.TE",
    bytes: post(`Content-Length: 6\r\nTransfer-Encoding: chunked\r\n`, `0\r\n\r\nG${SMUGGLED}`),
    expect: REJECTED(400),
  });
  list.push({
    id: "te-cl",
    family: "TE.CL",
    bytes: post(`Transfer-Encoding: chunked\r\nContent-Length: 4\r\n`, SMUGGLED_CHUNKED),
    expect: REJECTED(400),
  });
  list.push({
    id: "cl0-te",
    family: "CL.TE",
    bytes: post(`Content-Length: 0\r\nTransfer-Encoding: chunked\r\n`, SMUGGLED_CHUNKED),
    expect: REJECTED(400),
  });

  // TE.TE: an obfuscated Transfer-Encoding beside a Content-Length.
  for (const [id, line, status] of OBFUSCATED_TE) {
    list.push({
      id: `te-te/${id}`,
      family: "TE.TE",
      bytes: post(`Content-Length: 4\r\n${line}\r\n`, SMUGGLED_CHUNKED),
      // `Transfer_Encoding` is an ordinary header: the request is framed by its Content-Length, the
      // smuggled request after it is one the proxy itself reads, answers and forwards (no desync),
      // and the chunk framing left after it is refused.
      expect:
        id === "underscore-name"
          ? { statuses: [200, 200, 400], upstream: ["/", "/smuggled"] }
          : REJECTED(status),
    });
  }
  // The same lines alone: a coding the proxy cannot read is refused (501), never passed on.
  list.push({
    id: "te-alone/identity",
    family: "TE.TE",
    bytes: post("Transfer-Encoding: identity\r\n", SMUGGLED_CHUNKED),
    expect: REJECTED(501),
  });
  list.push({
    id: "te-alone/chunked-identity",
    family: "TE.TE",
    bytes: post("Transfer-Encoding: chunked, identity\r\n", SMUGGLED_CHUNKED),
    expect: REJECTED(501),
  });
  list.push({
    id: "te-alone/upper-case",
    family: "TE.TE",
    bytes: post("Transfer-Encoding: CHUNKED\r\n", SMUGGLED_CHUNKED),
    // Codings are case-insensitive: the one request, its body the smuggled text, forwarded re-chunked.
    expect: { statuses: [200], upstream: ["/"] },
  });

  // Content-Length variants.
  const lengths: Array<[string, string, Attack["expect"]]> = [
    ["plus-sign", "+4", REJECTED(400)],
    ["minus-sign", "-4", REJECTED(400)],
    ["list-equal", "4, 4", REJECTED(400)],
    ["list-differ", "4, 40", REJECTED(400)],
    ["hex", "0x4", REJECTED(400)],
    ["exponent", "4e0", REJECTED(400)],
    ["huge", "99999999999999999999", REJECTED(400)],
    ["empty", "", REJECTED(400)],
  ];
  for (const [id, value, expect] of lengths)
    list.push({
      id: `cl/${id}`,
      family: "CL",
      bytes: post(`Content-Length: ${value}\r\n`, `abcd${SMUGGLED}`),
      expect,
    });
  list.push({
    id: "cl/leading-zeros",
    family: "CL",
    bytes: post("Content-Length: 0004\r\n", `abcd${SMUGGLED}`),
    // 0004 is 4 (RFC 9110 1*DIGIT): the body, then a second request the proxy reads itself.
    expect: { statuses: [200, 200], upstream: ["/", "/smuggled"] },
  });
  list.push({
    id: "cl/two-lines-equal",
    family: "CL",
    bytes: post("Content-Length: 4\r\nContent-Length: 4\r\n", `abcd${SMUGGLED}`),
    expect: REJECTED(400),
  });
  list.push({
    id: "cl/two-lines-differ",
    family: "CL",
    bytes: post("Content-Length: 4\r\nContent-Length: 40\r\n", `abcd${SMUGGLED}`),
    expect: REJECTED(400),
  });
  list.push({
    id: "cl/space-before-colon",
    family: "CL",
    bytes: post("Content-Length : 4\r\n", `abcd${SMUGGLED}`),
    expect: REJECTED(400),
  });
  list.push({
    id: "cl/get-with-body",
    family: "CL",
    bytes: `GET / HTTP/1.1\r\n${HOST}Content-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`,
    // A GET's body is a body: forwarded with its length, never read as a request.
    expect: { statuses: [200], upstream: ["/"] },
  });

  // Chunk-size tricks.
  const sizes: Array<[string, string, Attack["expect"]]> = [
    ["0x-prefix", "0x4", REJECTED(400)],
    ["plus", "+4", REJECTED(400)],
    ["minus", "-4", REJECTED(400)],
    ["overflow", "10000000000000004", REJECTED(400)],
    ["not-hex", "4g", REJECTED(400)],
    ["lf-only", "4\n", REJECTED(400)],
    ["cr-in-ext", "4;a\rb", REJECTED(400)],
    ["nul-in-ext", "4;a\x00", REJECTED(400)],
  ];
  for (const [id, size, expect] of sizes)
    list.push({
      id: `chunk/${id}`,
      family: "chunk",
      bytes: post("Transfer-Encoding: chunked\r\n", `${size}\r\nabcd\r\n0\r\n\r\n${SMUGGLED}`),
      expect,
    });
  list.push({
    id: "chunk/data-longer-than-size",
    family: "chunk",
    bytes: post("Transfer-Encoding: chunked\r\n", `2\r\nabcd\r\n0\r\n\r\n${SMUGGLED}`),
    expect: REJECTED(400),
  });
  list.push({
    id: "chunk/leading-zeros-and-ext",
    family: "chunk",
    bytes: post("Transfer-Encoding: chunked\r\n", `0004;x=y\r\nabcd\r\n0\r\n\r\n${SMUGGLED}`),
    expect: { statuses: [200, 200], upstream: ["/", "/smuggled"] },
  });
  list.push({
    id: "chunk/last-chunk-with-trailers",
    family: "chunk",
    bytes: post(
      "Transfer-Encoding: chunked\r\n",
      `4\r\nabcd\r\n0\r\nContent-Length: 99\r\nTransfer-Encoding: x\r\n\r\n${SMUGGLED}`,
    ),
    // Framing fields in trailers frame nothing: the next request is read where the trailers end.
    expect: { statuses: [200, 200], upstream: ["/", "/smuggled"] },
  });
  list.push({
    id: "chunk/size-hides-request",
    family: "chunk",
    bytes: post("Transfer-Encoding: chunked\r\n", SMUGGLED_CHUNKED),
    // The smuggled text is body, forwarded as body: one upstream request.
    expect: { statuses: [200], upstream: ["/"] },
  });

  // Transfer-Encoding in HTTP/1.0.
  list.push({
    id: "http10/te-refused-by-default",
    family: "HTTP/1.0",
    bytes: post("Transfer-Encoding: chunked\r\n", SMUGGLED_CHUNKED, "POST / HTTP/1.0"),
    expect: REJECTED(426),
  });
  list.push({
    id: "http10/te-and-cl-accepted-10",
    family: "HTTP/1.0",
    hcmExtra: "http_protocol_options: { accept_http_10: true }",
    bytes: post("Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", SMUGGLED_CHUNKED, "POST / HTTP/1.0"),
    expect: REJECTED(400),
  });
  list.push({
    id: "http10/te-accepted-10",
    family: "HTTP/1.0",
    hcmExtra: "http_protocol_options: { accept_http_10: true }",
    bytes: post("Transfer-Encoding: chunked\r\n", `${SMUGGLED_CHUNKED}${SMUGGLED}`, "POST / HTTP/1.0"),
    // HTTP/1.0 closes after its response: the bytes after the request are never read.
    expect: { statuses: [200], upstream: ["/"] },
  });

  // Pipelining.
  list.push({
    id: "pipeline/two-requests",
    family: "pipeline",
    bytes: `GET /1 HTTP/1.1\r\n${HOST}\r\n${SMUGGLED}`,
    expect: { statuses: [200, 200], upstream: ["/1", "/smuggled"] },
  });
  list.push({
    id: "pipeline/after-connection-close",
    family: "pipeline",
    bytes: `GET /1 HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n${SMUGGLED}`,
    expect: { statuses: [200], upstream: ["/1"] },
  });
  list.push({
    id: "pipeline/body-then-request",
    family: "pipeline",
    bytes: `${post(`Content-Length: 4\r\n`, "abcd")}${SMUGGLED}`,
    expect: { statuses: [200, 200], upstream: ["/", "/smuggled"] },
  });
  list.push({
    id: "pipeline/cl0-then-request",
    family: "pipeline",
    bytes: `${post("Content-Length: 0\r\n", "")}${SMUGGLED}`,
    expect: { statuses: [200, 200], upstream: ["/", "/smuggled"] },
  });
  list.push({
    id: "pipeline/after-bad-request",
    family: "pipeline",
    bytes: `GET / HTTP/1.1\r\n${HOST}X: a\x00b\r\n\r\n${SMUGGLED}`,
    expect: REJECTED(400),
  });

  // Request lines and header lines hiding a request.
  list.push({
    id: "line/request-in-header-bare-cr",
    family: "line",
    bytes: `GET / HTTP/1.1\r\n${HOST}X: a\rGET /smuggled HTTP/1.1\r\n\r\n`,
    expect: REJECTED(400),
  });
  list.push({
    id: "line/request-in-header-bare-lf",
    family: "line",
    bytes: `GET / HTTP/1.1\r\n${HOST}X: a\nGET /smuggled HTTP/1.1\r\n\r\n`,
    expect: REJECTED(400),
  });
  list.push({
    id: "line/request-in-target",
    family: "line",
    bytes: `GET /a HTTP/1.1\r\nGET /smuggled HTTP/1.1\r\n${HOST}\r\n`,
    expect: REJECTED(400),
  });
  list.push({
    id: "line/http09",
    family: "line",
    bytes: `GET /\r\n\r\n${SMUGGLED}`,
    expect: REJECTED(426),
  });

  // Upgrades: the bytes after a refused or ignored upgrade are never a tunnel.
  list.push({
    id: "upgrade/websocket-not-configured",
    family: "upgrade",
    bytes: `GET / HTTP/1.1\r\n${HOST}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n${SMUGGLED}`,
    expect: REJECTED(403),
  });
  list.push({
    id: "upgrade/h2c-ignored",
    family: "upgrade",
    bytes: `GET / HTTP/1.1\r\n${HOST}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n${SMUGGLED}`,
    expect: { statuses: [200, 200], upstream: ["/", "/smuggled"] },
  });
  return list;
}
