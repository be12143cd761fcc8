import { describe, expect, it } from "vitest";
import { FrameReader, type FrameSink } from "../../http2/frame_reader.js";
import {
  FrameType,
  writeFrameHeader,
  writeGoaway,
  writeSettings,
  writeWindowUpdate,
} from "../../http2/frames.js";

interface Seen {
  frames: { type: number; flags: number; id: number; payload: string }[];
  oversized: { type: number; length: number; id: number }[];
}

function reader(max = 16_384): { r: FrameReader; seen: Seen } {
  const seen: Seen = { frames: [], oversized: [] };
  const sink: FrameSink = {
    onFrame(type, flags, id, payload) {
      seen.frames.push({ type, flags, id, payload: payload.toString("hex") });
      return true;
    },
    onOversizedFrame(type, length, id) {
      seen.oversized.push({ type, length, id });
    },
  };
  return { r: new FrameReader(sink, max), seen };
}

function frame(type: number, flags: number, id: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(9 + payload.length);
  writeFrameHeader(b, 0, payload.length, type, flags, id);
  payload.copy(b, 9);
  return b;
}

describe("frame writers (RFC 9113 4.1, 6)", () => {
  it("write the header and payload layouts of the RFC", () => {
    const b = Buffer.alloc(64);
    expect(b.subarray(0, writeFrameHeader(b, 0, 0x123456 & 0xffffff, 1, 5, 0x80000003)).toString("hex")).toBe(
      "123456010500000003", // the reserved bit is cleared
    );
    expect(b.subarray(0, writeSettings(b, 0, [4, 65_535, 3, 100])).toString("hex")).toBe(
      "00000c040000000000" + "00040000ffff" + "000300000064",
    );
    expect(b.subarray(0, writeSettings(b, 0, [], true)).toString("hex")).toBe("000000040100000000");
    expect(b.subarray(0, writeWindowUpdate(b, 0, 7, 1000)).toString("hex")).toBe(
      "000004080000000007000003e8",
    );
    expect(b.subarray(0, writeGoaway(b, 0, 5, 1, "x")).toString("hex")).toBe(
      "00000907000000000000000005" + "00000001" + "78",
    );
  });
});

describe("FrameReader", () => {
  it("splits frames arriving one byte at a time and several per chunk", () => {
    const bytes = Buffer.concat([
      frame(FrameType.PING, 0, 0, Buffer.from("0102030405060708", "hex")),
      frame(FrameType.DATA, 1, 3, Buffer.from("hello")),
      frame(FrameType.DATA, 0, 5, Buffer.alloc(0)),
    ]);
    const a = reader();
    for (let i = 0; i < bytes.length; i++) a.r.push(bytes.subarray(i, i + 1));
    const b = reader();
    b.r.push(bytes);
    const expected = [
      { type: 6, flags: 0, id: 0, payload: "0102030405060708" },
      { type: 0, flags: 1, id: 3, payload: Buffer.from("hello").toString("hex") },
      { type: 0, flags: 0, id: 5, payload: "" },
    ];
    expect(a.seen.frames).toEqual(expected);
    expect(b.seen.frames).toEqual(expected);
  });

  it("reports a frame above SETTINGS_MAX_FRAME_SIZE from its header alone, then stops", () => {
    const { r, seen } = reader(16_384);
    const big = Buffer.alloc(9);
    writeFrameHeader(big, 0, 16_385, FrameType.DATA, 0, 1);
    r.push(Buffer.concat([big, frame(FrameType.PING, 0, 0, Buffer.alloc(8))]));
    expect(seen.oversized).toEqual([{ type: 0, length: 16_385, id: 1 }]);
    expect(seen.frames).toEqual([]);
  });

  it("stops when the sink says so", () => {
    const seen: number[] = [];
    const r = new FrameReader(
      {
        onFrame: (type) => {
          seen.push(type);
          return false;
        },
        onOversizedFrame: () => {},
      },
      16_384,
    );
    r.push(Buffer.concat([frame(6, 0, 0, Buffer.alloc(8)), frame(6, 0, 0, Buffer.alloc(8))]));
    expect(seen).toEqual([6]);
  });
});
