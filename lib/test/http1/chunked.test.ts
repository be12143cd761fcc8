/**
 * The one chunked decoder (lib/http1/chunked.ts) on its own: what a body decodes to, wherever the
 * reads split it, and which bodies are refused.
 */
import { describe, expect, it } from "vitest";
import {
  CHUNK_DATA,
  CHUNK_DONE,
  CHUNK_ERROR,
  CHUNK_MORE,
  ChunkedDecoder,
  chunkSize,
} from "../../http1/chunked.js";

interface Decoded {
  body: string;
  trailers: string[] | null;
  done: boolean;
  error: string | null;
}

/** Feeds `reads` one after the other, keeping what a read left unconsumed, as both connections do. */
function decode(reads: string[], maxTrailerBytes = 1024): Decoded {
  const d = new ChunkedDecoder(maxTrailerBytes);
  let body = "";
  let pending = Buffer.alloc(0);
  for (const read of reads) {
    const buf = Buffer.concat([pending, Buffer.from(read, "latin1")]);
    let at = 0;
    for (;;) {
      at = d.decode(buf, at, buf.length);
      if (d.event === CHUNK_DATA) body += d.data.toString("latin1");
      else if (d.event === CHUNK_DONE) return { body, trailers: d.trailers, done: true, error: null };
      else if (d.event === CHUNK_ERROR) return { body, trailers: null, done: false, error: d.error };
      else break;
    }
    expect(d.event).toBe(CHUNK_MORE);
    pending = buf.subarray(at);
  }
  return { body, trailers: d.trailers, done: false, error: null };
}

/** Every way to cut `text` into two reads. */
function splits(text: string): string[][] {
  const out: string[][] = [];
  for (let i = 0; i <= text.length; i++) out.push([text.slice(0, i), text.slice(i)]);
  return out;
}

describe("ChunkedDecoder", () => {
  const wire = "5\r\nhello\r\n6;name=value\r\n world\r\n0\r\nX-Trailer: yes\r\nx-two:  2 \r\n\r\n";

  it("decodes chunks, skips extensions and returns the trailers, however the reads split it", () => {
    for (const reads of splits(wire)) {
      expect(decode(reads)).toEqual({
        body: "hello world",
        trailers: ["x-trailer", "yes", "x-two", "2"],
        done: true,
        error: null,
      });
    }
    // One byte a read.
    expect(decode([...wire]).body).toBe("hello world");
  });

  it("ends a body without trailers with trailers null, and leaves the next bytes unread", () => {
    const d = new ChunkedDecoder(1024);
    const buf = Buffer.from("3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "latin1");
    let at = d.decode(buf, 0, buf.length);
    expect(d.event).toBe(CHUNK_DATA);
    at = d.decode(buf, at, buf.length);
    expect(d.event).toBe(CHUNK_DONE);
    expect(d.trailers).toBeNull();
    expect(buf.toString("latin1", at)).toBe("GET / HTTP/1.1\r\n");
  });

  it("reads only up to `end` (storage after it is not data)", () => {
    const d = new ChunkedDecoder(1024);
    const buf = Buffer.from("5\r\nhel\nGARBAGE", "latin1");
    const at = d.decode(buf, 0, 6);
    expect(d.event).toBe(CHUNK_DATA);
    expect(d.data.toString()).toBe("hel");
    expect(d.decode(buf, at, 6)).toBe(6);
    expect(d.event).toBe(CHUNK_MORE);
  });

  it("is reusable after reset", () => {
    const d = new ChunkedDecoder(1024);
    const first = Buffer.from("0\r\nx: 1\r\n\r\n");
    d.decode(first, 0, first.length);
    expect(d.trailers).toEqual(["x", "1"]);
    d.reset();
    const second = Buffer.from("1\r\na\r\n");
    d.decode(second, 0, second.length);
    expect(d.event).toBe(CHUNK_DATA);
    expect(d.trailers).toBeNull();
  });

  it.each([
    ["a bare LF after the size", "5\nhello\r\n0\r\n\r\n", "bad chunk size"],
    ["no size", "\r\nhello\r\n0\r\n\r\n", "bad chunk size"],
    ["a sign", "+5\r\nhello\r\n0\r\n\r\n", "bad chunk size"],
    ["a leading space", " 5\r\nhello\r\n0\r\n\r\n", "bad chunk size"],
    ["a 0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", "bad chunk size"],
    ["14 hex digits", "00000000000005\r\nhello\r\n0\r\n\r\n", "bad chunk size"],
    ["junk after the size", "5 x\r\nhello\r\n0\r\n\r\n", "bad chunk size"],
    ["a control character in an extension", "5;a\x01b\r\nhello\r\n0\r\n\r\n", "bad chunk size"],
    ["a CR alone in an extension", "5;a\rb\r\nhello\r\n0\r\n\r\n", "bad chunk size"],
    ["data longer than its size", "5\r\nhello!\r\n0\r\n\r\n", "bad chunk end"],
    ["a trailer without a colon", "0\r\nnocolon\r\n\r\n", "bad trailer"],
    ["a trailer name with a space", "0\r\nbad name: 1\r\n\r\n", "bad trailer"],
    ["a trailer with a bare LF", "0\r\nx: 1\n\r\n", "bad trailer"],
  ])("refuses %s", (_name, body, error) => {
    for (const reads of splits(body)) expect(decode(reads).error).toBe(error);
  });

  it("limits a size line to 4 KiB and a trailer line to maxTrailerBytes", () => {
    expect(decode([`5;${"e".repeat(4000)}\r\nhello\r\n0\r\n\r\n`]).body).toBe("hello");
    expect(decode([`5;${"e".repeat(5000)}`]).error).toBe("chunk size line too long");
    expect(decode([`0\r\nx: ${"v".repeat(100)}`], 64).error).toBe("trailers too large");
    expect(decode([`0\r\nx: ${"v".repeat(50)}\r\n\r\n`], 64).done).toBe(true);
  });
});

describe("chunkSize", () => {
  const size = (line: string): number => {
    const buf = Buffer.from(line, "latin1");
    return chunkSize(buf, 0, buf.length);
  };
  it("reads 1 to 13 hex digits, either case, then optional whitespace and extensions", () => {
    expect(size("0")).toBe(0);
    expect(size("fF")).toBe(255);
    expect(size("1a \t;x=1;y")).toBe(26);
    expect(size("fffffffffffff")).toBe(2 ** 52 - 1);
    expect(size("")).toBe(-1);
    expect(size(";x")).toBe(-1);
    expect(size("g")).toBe(-1);
  });
});
