/**
 * The response-head grammar (lib/http1/response_parser.ts): what a client connection makes of a head,
 * and which heads are refused.
 */
import { describe, expect, it } from "vitest";
import { parseResponseHead } from "../../http1/response_parser.js";

describe("parseResponseHead", () => {
  it("reads the status, lower-cases names, trims values and takes the framing headers out", () => {
    expect(
      parseResponseHead(
        "HTTP/1.1 200 OK\r\nContent-Type:  text/plain \r\nConnection: keep-alive\r\nTransfer-Encoding: gzip, chunked\r\nX-A: 1",
      ),
    ).toEqual({
      status: 200,
      http10: false,
      headers: ["content-type", "text/plain", "x-a", "1"],
      contentLength: -1,
      chunked: true,
      close: false,
    });
  });

  it("reads Content-Length and keeps it among the headers", () => {
    const head = parseResponseHead("HTTP/1.1 404 Not Found\r\ncontent-length: 3");
    expect(head).toMatchObject({ status: 404, contentLength: 3, headers: ["content-length", "3"] });
  });

  it("closes after HTTP/1.0 unless keep-alive, and after `connection: close`", () => {
    expect(parseResponseHead("HTTP/1.0 200 OK")).toMatchObject({ http10: true, close: true });
    expect(parseResponseHead("HTTP/1.0 200 OK\r\nConnection: Keep-Alive")).toMatchObject({ close: false });
    expect(parseResponseHead("HTTP/1.1 200 OK\r\nConnection: close")).toMatchObject({ close: true });
    expect(parseResponseHead("HTTP/1.1 204")).toMatchObject({ status: 204, close: false });
  });

  it.each([
    ["HTTP/2 200 OK", "bad status line"],
    ["HTTP/1.2 200 OK", "bad status line"],
    ["HTTP/1.1 20 OK", "bad status line"],
    ["HTTP/1.1 2000 OK", "bad status line"],
    ["HTTP/1.1 099 OK", "bad status line"],
    ["HTTP/1.1 200 OK\r\n folded: 1", "bad header line"],
    ["HTTP/1.1 200 OK\r\nname : 1", "bad header line"],
    ["HTTP/1.1 200 OK\r\nnocolon", "bad header line"],
    ["HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2", "bad content-length"],
    // Envoy 1.40 answers 502 (protocol error) to each of these, measured; the client would get them.
    ["HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 2", "bad content-length"],
    ["HTTP/1.1 200 OK\r\ncontent-length: 2, 2", "bad content-length"],
    [
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 2",
      "both content-length and transfer-encoding",
    ],
    [
      "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked",
      "both content-length and transfer-encoding",
    ],
    ["HTTP/1.1 200 OK\r\nX(A: b", "bad header line"],
    ["HTTP/1.1 200 OK\r\nX-A\t: b", "bad header line"],
    ["HTTP/1.1 200 OK\r\nX-\xe9: b", "bad header line"],
    ["HTTP/1.1 200 OK\r\nX/A: b", "bad header line"],
    ["HTTP/1.1 200 OK\r\nX@A: b", "bad header line"],
    ["HTTP/1.1 200 OK\r\ncontent-length: -1", "bad content-length"],
    ["HTTP/1.1 200 OK\r\nx: a\x00b", "invalid character in the response head"],
    ["HTTP/1.1 200 OK\nx: 1", "invalid character in the response head"],
  ])("refuses %j", (text, error) => {
    expect(parseResponseHead(text)).toBe(error);
  });
});
