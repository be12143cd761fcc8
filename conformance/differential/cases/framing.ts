/**
 * HTTP/1.x framing and limits: Host-less and absolute-form requests, HTTP/1.0, header count and size
 * limits, bodies by content-length and chunked, trailers, `Expect: 100-continue`, HEAD, 204, 304,
 * malformed input, two requests on one connection.
 */
import { config } from "../config.js";
import type { Case } from "../types.js";
import { BASIC, get, h1, manyHeaders, req, resp } from "./util.js";

const ECHO = config({ routes: [{ match: { prefix: "/" }, route: { cluster: "echo" } }] });

export const framingCases: Case[] = [
  {
    id: "host-missing",
    description: "an HTTP/1.1 request without Host: 400",
    config: BASIC,
    exchange: h1(req("GET / HTTP/1.1", ["user-agent: diff"])),
  },
  {
    id: "absolute-form",
    description: "absolute-form request target: forwarded with the path, host from the target",
    config: BASIC,
    exchange: h1(req("GET http://example.com/abs?q=1 HTTP/1.1", ["host: example.com"])),
  },
  {
    id: "absolute-form-host-differs",
    description: "absolute-form target whose authority differs from Host",
    config: BASIC,
    exchange: h1(req("GET http://target.example/abs HTTP/1.1", ["host: other.example"])),
  },
  {
    id: "http10-rejected",
    description: "HTTP/1.0 without accept_http_10: 426",
    config: BASIC,
    exchange: h1(req("GET / HTTP/1.0", ["host: example.com"])),
  },
  {
    id: "http10-accepted",
    description: "HTTP/1.0 with accept_http_10 and no Host: default_host_for_http_10",
    config: config({
      hcm: { http_protocol_options: { accept_http_10: true, default_host_for_http_10: "default.example" } },
    }),
    exchange: h1(req("GET /ten HTTP/1.0", [])),
  },
  {
    id: "headers-100",
    description: "100 request headers (host included): accepted",
    config: BASIC,
    exchange: h1(get("/", ...manyHeaders(99))),
  },
  {
    id: "headers-101",
    description: "101 request headers: 431 (max_headers_count 100)",
    config: BASIC,
    exchange: h1(get("/", ...manyHeaders(100))),
  },
  {
    id: "headers-59k",
    description: "a 59 KiB header: accepted (limit 60 KiB)",
    config: BASIC,
    exchange: h1(get("/", `x-big: ${"a".repeat(59 * 1024)}`)),
  },
  {
    id: "headers-61k",
    description: "a 61 KiB header: 431",
    config: BASIC,
    exchange: h1(get("/", `x-big: ${"a".repeat(61 * 1024)}`)),
  },
  {
    id: "headers-kb-limit",
    description: "max_request_headers_kb: 8 and a 9 KiB header: 431",
    config: config({ hcm: { max_request_headers_kb: 8 } }),
    exchange: h1(get("/", `x-big: ${"a".repeat(9 * 1024)}`)),
  },
  {
    id: "body-content-length",
    description: "POST with content-length: forwarded with the same length",
    config: BASIC,
    exchange: h1(
      req(
        "POST /up HTTP/1.1",
        ["host: example.com", "content-type: text/plain", "content-length: 11"],
        "hello world",
      ),
    ),
  },
  {
    id: "body-chunked",
    description: "POST chunked: forwarded chunked",
    config: BASIC,
    exchange: h1(
      req(
        "POST /up HTTP/1.1",
        ["host: example.com", "transfer-encoding: chunked"],
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
      ),
    ),
  },
  {
    id: "body-chunked-trailers",
    description: "POST chunked with trailers: what reaches the upstream",
    config: BASIC,
    exchange: h1(
      req(
        "POST /up HTTP/1.1",
        ["host: example.com", "transfer-encoding: chunked", "trailer: x-checksum"],
        "5\r\nhello\r\n0\r\nx-checksum: abc\r\n\r\n",
      ),
    ),
  },
  {
    id: "body-chunked-echo",
    description: "POST chunked to the echo service: the body comes back",
    config: ECHO,
    exchange: h1(
      req(
        "POST /echo HTTP/1.1",
        ["host: example.com", "transfer-encoding: chunked"],
        "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
      ),
    ),
  },
  {
    id: "body-content-length-and-chunked",
    description: "content-length and transfer-encoding: chunked together: 400",
    config: BASIC,
    exchange: h1(
      req(
        "POST /up HTTP/1.1",
        ["host: example.com", "content-length: 5", "transfer-encoding: chunked"],
        "0\r\n\r\n",
      ),
    ),
  },
  {
    id: "transfer-encoding-gzip",
    description: "transfer-encoding: gzip: 501",
    config: BASIC,
    exchange: h1(req("POST /up HTTP/1.1", ["host: example.com", "transfer-encoding: gzip"], "xxxx")),
  },
  {
    id: "expect-100-continue",
    description: "Expect: 100-continue: the proxy answers 100 itself, then forwards head and body",
    config: BASIC,
    exchange: h1([
      req("POST /up HTTP/1.1", ["host: example.com", "content-length: 4", "expect: 100-continue"]),
      "data",
    ]),
  },
  {
    id: "head-request",
    description: "HEAD: the upstream's content-length comes down, no body",
    config: BASIC,
    exchange: h1(req("HEAD / HTTP/1.1", ["host: example.com"]), { head: true }),
    upstream: [{ raw: "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1234\r\n\r\n" }],
  },
  {
    id: "response-204",
    description: "a 204 from the upstream",
    config: BASIC,
    exchange: h1(get("/")),
    upstream: [{ raw: "HTTP/1.1 204 No Content\r\nx-up: 1\r\n\r\n" }],
  },
  {
    id: "response-304",
    description: "a 304 with etag and content-length from the upstream",
    config: BASIC,
    exchange: h1(get("/", 'if-none-match: "v1"')),
    upstream: [{ raw: 'HTTP/1.1 304 Not Modified\r\netag: "v1"\r\ncontent-length: 10\r\n\r\n' }],
  },
  {
    id: "response-chunked",
    description: "a chunked response: passed down chunked",
    config: BASIC,
    exchange: h1(get("/")),
    upstream: [
      { raw: "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n" },
    ],
  },
  {
    id: "response-chunked-trailers",
    description: "a chunked response with trailers",
    config: BASIC,
    exchange: h1(get("/")),
    upstream: [
      {
        raw: "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-t\r\n\r\n3\r\nabc\r\n0\r\nx-t: done\r\n\r\n",
      },
    ],
  },
  {
    id: "response-until-close",
    description: "a response framed by the upstream's close (no length): passed down chunked",
    config: BASIC,
    exchange: h1(get("/")),
    upstream: [{ raw: "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil close", after: "close" }],
  },
  {
    id: "response-connection-close",
    description: "the upstream answers with connection: close",
    config: BASIC,
    exchange: h1(get("/")),
    upstream: [
      { raw: "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok", after: "close" },
    ],
  },
  {
    id: "request-connection-close",
    description: "the client sends connection: close: the proxy answers and closes",
    config: BASIC,
    exchange: h1(get("/", "connection: close")),
  },
  {
    id: "two-requests-one-connection",
    description: "two requests on one keep-alive connection",
    config: BASIC,
    exchange: h1([get("/one"), get("/two")], { responses: 2 }),
  },
  {
    id: "malformed-request-line",
    description: "a request line that is not HTTP: 400",
    config: BASIC,
    exchange: h1("GARBAGE\r\n\r\n"),
  },
  {
    id: "invalid-header-name",
    description: "a header name with a space: 400",
    config: BASIC,
    exchange: h1(get("/", "bad name: 1")),
  },
  {
    id: "underscore-header",
    description: "a header name with an underscore: allowed by default",
    config: BASIC,
    exchange: h1(get("/", "x_under: 1")),
  },
  {
    id: "large-body-retry-buffer",
    description:
      "a 1.5 MiB body on a retrying route: over the retry buffer, streamed (no 413), retry abandoned",
    config: config({
      routes: [
        {
          match: { prefix: "/" },
          route: { cluster: "raw", retry_policy: { retry_on: "5xx", num_retries: 1 } },
        },
      ],
    }),
    exchange: h1(
      req(
        "POST /big HTTP/1.1",
        ["host: example.com", `content-length: ${1536 * 1024}`],
        "b".repeat(1536 * 1024),
      ),
    ),
    upstream: [resp("503 Service Unavailable", [], "busy"), resp("200 OK", [], "ok")],
  },
];
