import { describe, expect, it } from "vitest";
import {
  MALFORMED,
  NO_CONTENT_LENGTH,
  validateRequest,
  validateResponse,
  validateTrailers,
} from "../../http2/headers.js";

const GET = [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "a"];

describe("request header validation (RFC 9113 8.2, 8.3)", () => {
  it("accepts a plain request and reports its content-length", () => {
    expect(validateRequest(GET, false)).toBe(NO_CONTENT_LENGTH);
    expect(validateRequest([...GET, "content-length", "12", "te", "trailers"], false)).toBe(12);
    expect(validateRequest([...GET, "content-length", "12", "content-length", "12"], false)).toBe(12);
  });

  it.each([
    ["an upper-case name", [...GET, "X-Up", "1"]],
    ["an empty name", [...GET, "", "1"]],
    ["a CR in a value", [...GET, "x", "a\rb"]],
    ["a pseudo-header after a regular field", [":method", "GET", "x", "1", ":scheme", "http", ":path", "/"]],
    ["an unknown pseudo-header", [...GET, ":foo", "1"]],
    ["a response pseudo-header", [...GET.slice(0, 6), ":status", "200"]],
    ["a duplicated :path", [...GET.slice(0, 6), ":path", "/"]],
    ["no :path", [":method", "GET", ":scheme", "http"]],
    ["an empty :path", [":method", "GET", ":scheme", "http", ":path", ""]],
    ["no :method", [":scheme", "http", ":path", "/"]],
    ["connection", [...GET, "connection", "keep-alive"]],
    ["transfer-encoding", [...GET, "transfer-encoding", "chunked"]],
    ["upgrade", [...GET, "upgrade", "websocket"]],
    ["te other than trailers", [...GET, "te", "gzip"]],
    ["a non-numeric content-length", [...GET, "content-length", "1x"]],
    ["two different content-lengths", [...GET, "content-length", "1", "content-length", "2"]],
    [
      ":protocol without ENABLE_CONNECT_PROTOCOL",
      [":method", "CONNECT", ":protocol", "websocket", ":scheme", "http", ":path", "/", ":authority", "a"],
    ],
    ["CONNECT with :path", [":method", "CONNECT", ":authority", "a:443", ":path", "/"]],
    ["CONNECT without :authority", [":method", "CONNECT"]],
  ])("refuses %s", (_name, fields) => {
    expect(validateRequest(fields, false)).toBe(MALFORMED);
  });

  it("accepts CONNECT, and extended CONNECT when enabled (RFC 8441)", () => {
    expect(validateRequest([":method", "CONNECT", ":authority", "a:443"], false)).toBe(NO_CONTENT_LENGTH);
    const ws = [
      ":method",
      "CONNECT",
      ":protocol",
      "websocket",
      ":scheme",
      "http",
      ":path",
      "/chat",
      ":authority",
      "a",
    ];
    expect(validateRequest(ws, true)).toBe(NO_CONTENT_LENGTH);
    expect(
      validateRequest([":method", "GET", ":protocol", "websocket", ":scheme", "http", ":path", "/"], true),
    ).toBe(MALFORMED);
  });
});

describe("response and trailer validation", () => {
  it("needs one three-digit :status first", () => {
    expect(validateResponse([":status", "200", "content-length", "3"])).toBe(3);
    expect(validateResponse(["content-length", "3"])).toBe(MALFORMED);
    expect(validateResponse([":status", "20"])).toBe(MALFORMED);
    expect(validateResponse([":status", "200", ":status", "200"])).toBe(MALFORMED);
    expect(validateResponse([":status", "200", ":path", "/"])).toBe(MALFORMED);
  });

  it("refuses pseudo-headers and connection-specific fields in trailers", () => {
    expect(validateTrailers(["grpc-status", "0"])).toBe(true);
    expect(validateTrailers([":status", "200"])).toBe(false);
    expect(validateTrailers(["connection", "close"])).toBe(false);
  });
});
