import { describe, expect, it } from "vitest";
import { HpackDecoder, HpackEncoder, HpackError } from "../../http2/hpack.js";
import { huffmanDecode, huffmanEncode, huffmanLength } from "../../http2/huffman.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const pairs = (fields: string[]): [string, string][] => {
  const out: [string, string][] = [];
  for (let i = 0; i < fields.length; i += 2) out.push([fields[i] as string, fields[i + 1] as string]);
  return out;
};

function decodeAll(decoder: HpackDecoder, block: Buffer): [string, string][] {
  const fields: string[] = [];
  decoder.decode(block, fields);
  return pairs(fields);
}

/** The dynamic table as [name, value] pairs, newest first, and its size. */
function tableOf(decoder: HpackDecoder): { entries: [string, string][]; size: number } {
  const entries: [string, string][] = [];
  for (let i = 0; i < decoder.table.length; i++)
    entries.push([decoder.table.name(i), decoder.table.value(i)]);
  return { entries, size: decoder.table.size };
}

const REQUESTS: [string, string][][] = [
  [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "www.example.com"],
  ],
  [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "www.example.com"],
    ["cache-control", "no-cache"],
  ],
  [
    [":method", "GET"],
    [":scheme", "https"],
    [":path", "/index.html"],
    [":authority", "www.example.com"],
    ["custom-key", "custom-value"],
  ],
];
const REQUEST_TABLES = [
  { entries: [[":authority", "www.example.com"]], size: 57 },
  {
    entries: [
      ["cache-control", "no-cache"],
      [":authority", "www.example.com"],
    ],
    size: 110,
  },
  {
    entries: [
      ["custom-key", "custom-value"],
      ["cache-control", "no-cache"],
      [":authority", "www.example.com"],
    ],
    size: 164,
  },
];

const DATE1 = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE2 = "Mon, 21 Oct 2013 20:13:22 GMT";
const COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
const RESPONSES: [string, string][][] = [
  [
    [":status", "302"],
    ["cache-control", "private"],
    ["date", DATE1],
    ["location", "https://www.example.com"],
  ],
  [
    [":status", "307"],
    ["cache-control", "private"],
    ["date", DATE1],
    ["location", "https://www.example.com"],
  ],
  [
    [":status", "200"],
    ["cache-control", "private"],
    ["date", DATE2],
    ["location", "https://www.example.com"],
    ["content-encoding", "gzip"],
    ["set-cookie", COOKIE],
  ],
];
const RESPONSE_TABLES = [
  {
    entries: [
      ["location", "https://www.example.com"],
      ["date", DATE1],
      ["cache-control", "private"],
      [":status", "302"],
    ],
    size: 222,
  },
  {
    entries: [
      [":status", "307"],
      ["location", "https://www.example.com"],
      ["date", DATE1],
      ["cache-control", "private"],
    ],
    size: 222,
  },
  {
    entries: [
      ["set-cookie", COOKIE],
      ["content-encoding", "gzip"],
      ["date", DATE2],
    ],
    size: 215,
  },
];

describe("HPACK decoder: RFC 7541 Appendix C", () => {
  it("C.2: one field of each representation", () => {
    const d = new HpackDecoder();
    expect(decodeAll(d, hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"))).toEqual([
      ["custom-key", "custom-header"],
    ]);
    expect(tableOf(d)).toEqual({ entries: [["custom-key", "custom-header"]], size: 55 });
    const d2 = new HpackDecoder();
    expect(decodeAll(d2, hex("040c 2f73 616d 706c 652f 7061 7468"))).toEqual([[":path", "/sample/path"]]);
    expect(decodeAll(d2, hex("1008 7061 7373 776f 7264 0673 6563 7265 74"))).toEqual([
      ["password", "secret"],
    ]);
    expect(decodeAll(d2, hex("82"))).toEqual([[":method", "GET"]]);
    expect(d2.table.length).toBe(0);
  });

  it.each([
    [
      "C.3 (no Huffman)",
      [
        "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        "8286 84be 5808 6e6f 2d63 6163 6865",
        "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
      ],
    ],
    [
      "C.4 (Huffman)",
      [
        "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
        "8286 84be 5886 a8eb 1064 9cbf",
        "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
      ],
    ],
  ])("%s: three requests on one connection", (_name, blocks) => {
    const d = new HpackDecoder(4096);
    blocks.forEach((block, i) => {
      expect(decodeAll(d, hex(block))).toEqual(REQUESTS[i]);
      expect(tableOf(d)).toEqual(REQUEST_TABLES[i]);
    });
  });

  it.each([
    [
      "C.5 (no Huffman)",
      [
        `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
         2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`,
        "4803 3330 37c1 c0bf",
        `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
         54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
         5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`,
      ],
    ],
    [
      "C.6 (Huffman)",
      [
        `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
         2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
        "4883 640e ffc1 c0bf",
        `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
         77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
         9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
      ],
    ],
  ])("%s: three responses with a 256-octet table (evictions)", (_name, blocks) => {
    const d = new HpackDecoder(256);
    blocks.forEach((block, i) => {
      expect(decodeAll(d, hex(block))).toEqual(RESPONSES[i]);
      expect(tableOf(d)).toEqual(RESPONSE_TABLES[i]);
    });
  });

  it("returns the header list size of RFC 9113 6.5.2", () => {
    const fields: string[] = [];
    expect(new HpackDecoder().decode(hex("82"), fields)).toBe(":method".length + 3 + 32);
  });
});

describe("HPACK decoder errors (COMPRESSION_ERROR)", () => {
  it.each([
    ["index 0", "80"],
    ["an index beyond both tables", "be"],
    ["a literal name index beyond the tables", "7f00 0161"],
    ["a truncated integer", "ff"],
    ["an integer above 2^31", "ff ff ff ff ff 0f"],
    ["a string longer than the block", "0003 6162"],
    ["a Huffman string with EOS", "00 84 ff ff ff ff 01 61"],
    ["Huffman padding longer than 7 bits", "0082 1fff 0161"],
    ["Huffman padding not all ones", "0081 00 0161"],
    ["a size update above SETTINGS_HEADER_TABLE_SIZE", "3fe2 1f"],
    ["a size update after a field", "82 20"],
  ])("refuses %s", (_name, block) => {
    expect(() => new HpackDecoder(4096).decode(hex(block), [])).toThrow(HpackError);
  });

  it("accepts size updates at the start of a block, down to 0", () => {
    const d = new HpackDecoder(4096);
    decodeAll(d, hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"));
    expect(decodeAll(d, hex("20 3fe1 1f 82"))).toEqual([[":method", "GET"]]);
    expect(d.table.length).toBe(0);
    expect(d.table.maxSize).toBe(4096);
  });
});

describe("Huffman", () => {
  it("encodes the strings of C.4 and C.6 as the RFC does", () => {
    const out = Buffer.alloc(64);
    expect(out.subarray(0, huffmanEncode("www.example.com", out, 0)).toString("hex")).toBe(
      "f1e3c2e5f23a6ba0ab90f4ff",
    );
    expect(out.subarray(0, huffmanEncode("no-cache", out, 0)).toString("hex")).toBe("a8eb10649cbf");
    expect(out.subarray(0, huffmanEncode(DATE1, out, 0)).toString("hex")).toBe(
      "d07abe941054d444a8200595040b8166e082a62d1bff",
    );
    expect(huffmanLength("custom-value")).toBe(9);
  });

  it("round-trips every octet, including the 30-bit codes", () => {
    let s = "";
    for (let c = 0; c < 256; c++) s += String.fromCharCode(c);
    const out = Buffer.alloc(huffmanLength(s));
    expect(huffmanEncode(s, out, 0)).toBe(out.length);
    expect(huffmanDecode(out, 0, out.length)).toBe(s);
  });
});

describe("HPACK encoder", () => {
  function roundTrip(encoder: HpackEncoder, decoder: HpackDecoder, fields: string[]): Buffer {
    const buf = Buffer.alloc(HpackEncoder.bound(fields));
    const block = buf.subarray(0, encoder.encode(fields, buf, 0));
    const out: string[] = [];
    decoder.decode(block, out);
    expect(out).toEqual(fields);
    return block;
  }

  it("indexes a repeated field: the second response head is one octet per field", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const head = [":status", "200", "content-type", "text/plain", "server", "echomesh"];
    expect(roundTrip(e, d, head).length).toBeGreaterThan(3);
    expect(roundTrip(e, d, head).toString("hex")).toBe("88bfbe");
  });

  it("never indexes credentials and does not index per-message values", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    roundTrip(e, d, ["authorization", "Bearer x", ":path", "/a?b=c", "content-length", "12"]);
    expect(d.table.length).toBe(0);
    const block = Buffer.alloc(64);
    const n = e.encode(["authorization", "Bearer x"], block, 0);
    expect((block[0] as number) & 0xf0).toBe(0x10); // never-indexed literal (RFC 7541 6.2.3)
    expect(n).toBeGreaterThan(1);
  });

  it("follows the peer's smaller SETTINGS_HEADER_TABLE_SIZE with a size update, and keeps in step", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder(4096);
    const head = ["x-a", "1".repeat(40), "x-b", "2".repeat(40)];
    roundTrip(e, d, head);
    e.setPeerTableSize(100);
    const block = roundTrip(e, d, head);
    expect(block[0]).toBe(0x3f); // size update first (RFC 7541 4.2), 100 needs the 5-bit prefix and more
    expect(d.table.maxSize).toBe(100);
    expect(d.table.size).toBeLessThanOrEqual(100);
    for (let i = 0; i < 50; i++) roundTrip(e, d, ["x-n", String(i), "x-b", "2".repeat(40)]);
  });

  it("encodes long values and many fields (multi-octet integers)", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const fields: string[] = [];
    for (let i = 0; i < 200; i++) fields.push(`x-field-${i}`, "v".repeat(i * 7));
    roundTrip(e, d, fields);
    roundTrip(e, d, fields);
  });
});
