/**
 * The connection as a raw client sees it: flow control to the byte, the exact error codes of
 * connection and stream errors, the flood limits, the concurrency limit and extended CONNECT.
 * (h2spec covers the RFC's cases too, but accepts a closed connection for any error: these check codes.)
 */
import { createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { useCleanup } from "../../../test-support/cleanup.js";
import { closeServer, listen } from "../../../test-support/servers.js";
import { ignoreAcceptError } from "../../errors.js";
import {
  frame,
  getHeaderBlock,
  headersFrame,
  rstStreamFrame,
  settingsFrame,
  windowUpdateFrame,
} from "../../h2_frames.js";
import { Http2Connection, type Http2Options } from "../../http2/connection.js";
import { ErrorCode, Flag, FrameType, SettingId } from "../../http2/frames.js";
import { HpackEncoder } from "../../http2/hpack.js";
import { createH2cServer } from "../../http2/server.js";
import type { Http2Stream } from "../../http2/stream.js";
import { pattern } from "./peers.js";
import { type Raw, rawClient } from "./raw.js";

const defer = useCleanup();

/** A server: GET /big/<n> answers n bytes; anything else 200 "ok" at the request's end; echoes data on CONNECT. */
async function server(options: Http2Options = {}): Promise<number> {
  const s: Server = createH2cServer((stream: Http2Stream, fields) => {
    const path = fields[fields.indexOf(":path") + 1] ?? "";
    if (fields.includes(":protocol")) {
      stream.respond([":status", "200"]);
      stream.onData = (c) => stream.write(Buffer.from(c));
      stream.onEnd = () => stream.end();
      return;
    }
    stream.onEnd = () => {
      stream.respond([":status", "200"]);
      if (path.startsWith("/big/")) {
        stream.write(pattern(Number(path.slice(5))));
        stream.end();
      } else {
        stream.write(Buffer.from("ok"), true);
      }
    };
  }, options);
  const port = await listen(s);
  defer(() => closeServer(s));
  return port;
}

async function client(port: number, settings: Array<[number, number]> = []): Promise<Raw> {
  const raw = await rawClient(port, settings);
  defer(() => raw.socket.destroy());
  return raw;
}

const goawayCode = (r: Raw): Promise<number> =>
  r.waitFor((f) => f.type === FrameType.GOAWAY).then((f) => f.payload.readUInt32BE(4));
const rstCode = (r: Raw, id: number): Promise<number> =>
  r
    .waitFor((f) => f.type === FrameType.RST_STREAM && f.streamId === id)
    .then((f) => f.payload.readUInt32BE(0));
const dataBytes = (r: Raw, id: number): number =>
  r.frames
    .filter((f) => f.type === FrameType.DATA && f.streamId === id)
    .reduce((n, f) => n + f.payload.length, 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function block(fields: string[]): Buffer {
  const buf = Buffer.alloc(HpackEncoder.bound(fields));
  return buf.subarray(0, new HpackEncoder().encode(fields, buf, 0));
}

describe("Http2Connection (server role) on the wire", () => {
  it("announces Envoy's windows and its limits in SETTINGS, then the connection window", async () => {
    const r = await client(await server({ enableConnectProtocol: true }));
    const settings = await r.waitFor((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) === 0);
    const pairs = new Map<number, number>();
    for (let o = 0; o < settings.payload.length; o += 6)
      pairs.set(settings.payload.readUInt16BE(o), settings.payload.readUInt32BE(o + 2));
    expect(Object.fromEntries(pairs)).toEqual({
      [SettingId.MAX_CONCURRENT_STREAMS]: 1024,
      [SettingId.INITIAL_WINDOW_SIZE]: 16 * 1024 * 1024,
      [SettingId.ENABLE_CONNECT_PROTOCOL]: 1,
    });
    const wu = await r.waitFor((f) => f.type === FrameType.WINDOW_UPDATE && f.streamId === 0);
    expect(wu.payload.readUInt32BE(0)).toBe(24 * 1024 * 1024 - 65_535);
    await r.waitFor((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) !== 0);
  });

  it("sends no more DATA than the peer's stream window, and the rest after WINDOW_UPDATE", async () => {
    const r = await client(await server(), [[SettingId.INITIAL_WINDOW_SIZE, 10]]);
    r.send(headersFrame(1, getHeaderBlock("/big/100", "x")));
    await r.waitFor((f) => f.type === FrameType.DATA);
    await sleep(100);
    expect(dataBytes(r, 1)).toBe(10);
    const before = r.frames.length;
    r.send(windowUpdateFrame(25, 1));
    await r.waitFor((f) => f.type === FrameType.DATA, 2000, before);
    await sleep(50);
    expect(dataBytes(r, 1)).toBe(35);
    // Raising SETTINGS_INITIAL_WINDOW_SIZE raises the open stream's window by the difference (6.9.2).
    r.send(settingsFrame([[SettingId.INITIAL_WINDOW_SIZE, 75]]));
    const last = await r.waitFor((f) => f.type === FrameType.DATA && (f.flags & Flag.END_STREAM) !== 0);
    expect(last.streamId).toBe(1);
    expect(dataBytes(r, 1)).toBe(100);
  });

  it("sends no more DATA than the connection window either", async () => {
    const r = await client(await server(), [[SettingId.INITIAL_WINDOW_SIZE, 1 << 20]]);
    r.send(headersFrame(1, getHeaderBlock("/big/100000", "x")));
    await r.waitFor((f) => f.type === FrameType.DATA);
    await sleep(100);
    expect(dataBytes(r, 1)).toBe(65_535);
    r.send(windowUpdateFrame(100_000 - 65_535, 0));
    await r.waitFor((f) => f.type === FrameType.DATA && (f.flags & Flag.END_STREAM) !== 0);
    expect(dataBytes(r, 1)).toBe(100_000);
  });

  it.each([
    ["a malformed header block", () => headersFrame(1, Buffer.from([0x80])), ErrorCode.COMPRESSION_ERROR],
    ["DATA on an idle stream", () => frame(FrameType.DATA, 0, 5, Buffer.from("x")), ErrorCode.PROTOCOL_ERROR],
    [
      "a frame above SETTINGS_MAX_FRAME_SIZE",
      () => frame(FrameType.DATA, 0, 1, Buffer.alloc(16_385)),
      ErrorCode.FRAME_SIZE_ERROR,
    ],
    [
      "a connection window above 2^31-1",
      () => windowUpdateFrame(0x7fffffff, 0),
      ErrorCode.FLOW_CONTROL_ERROR,
    ],
    [
      "PUSH_PROMISE from a client",
      () => frame(FrameType.PUSH_PROMISE, 4, 1, Buffer.alloc(4)),
      ErrorCode.PROTOCOL_ERROR,
    ],
    ["a PING of 7 octets", () => frame(FrameType.PING, 0, 0, Buffer.alloc(7)), ErrorCode.FRAME_SIZE_ERROR],
    [
      "a HEADERS frame interleaved in a header block",
      () =>
        Buffer.concat([
          frame(FrameType.HEADERS, 0, 1, getHeaderBlock("/", "x")),
          headersFrame(3, getHeaderBlock("/", "x")),
        ]),
      ErrorCode.PROTOCOL_ERROR,
    ],
  ])("answers %s with GOAWAY of its code, then closes", async (_name, bytes, code) => {
    const r = await client(await server());
    r.send(bytes());
    expect(await goawayCode(r)).toBe(code);
    await r.closed;
  });

  it("resets a malformed request (stream error) and keeps serving the connection", async () => {
    const r = await client(await server());
    const bad = [":method", "GET", ":scheme", "http", ":path", "/", "X-Upper", "1"];
    r.send(frame(FrameType.HEADERS, Flag.END_STREAM | Flag.END_HEADERS, 1, block(bad)));
    expect(await rstCode(r, 1)).toBe(ErrorCode.PROTOCOL_ERROR);
    r.send(headersFrame(3, getHeaderBlock("/", "x")));
    const head = await r.waitFor((f) => f.type === FrameType.HEADERS && f.streamId === 3);
    expect(r.fields(head)).toEqual([":status", "200"]);
    // write(data, true): END_STREAM rides on the last DATA frame, no empty frame after it.
    await r.waitFor((f) => f.type === FrameType.DATA && f.streamId === 3);
    await sleep(50);
    const frames3 = r.frames
      .filter((f) => f.streamId === 3)
      .map((f) => [f.type, f.flags, f.payload.toString()]);
    expect(frames3).toEqual([
      [FrameType.HEADERS, Flag.END_HEADERS, expect.any(String)],
      [FrameType.DATA, Flag.END_STREAM, "ok"],
    ]);
  });

  it("refuses a header list above maxHeaderListSize with RST_STREAM INTERNAL_ERROR, as Envoy (no 431), and keeps the connection", async () => {
    const r = await client(await server({ maxHeaderListSize: 1000 }));
    const fields = [":method", "GET", ":scheme", "http", ":path", "/", "x-big", "v".repeat(1000)];
    r.send(frame(FrameType.HEADERS, Flag.END_STREAM | Flag.END_HEADERS, 1, block(fields)));
    expect(await rstCode(r, 1)).toBe(ErrorCode.INTERNAL_ERROR);
    expect(r.frames.some((f) => f.type === FrameType.HEADERS)).toBe(false);
    r.send(headersFrame(3, getHeaderBlock("/", "x")));
    const head = await r.waitFor((f) => f.type === FrameType.HEADERS && f.streamId === 3);
    expect(r.fields(head)).toEqual([":status", "200"]);
  });

  it("refuses a request of more fields than maxHeadersCount (pseudo-headers counted) with RST_STREAM INTERNAL_ERROR, as Envoy, and keeps the connection", async () => {
    const overflows: string[] = [];
    const requests: string[] = [];
    const s = createServer((socket) => {
      new Http2Connection(
        socket,
        "server",
        { maxHeadersCount: 5 },
        {
          onStream: (stream, fields) => {
            requests.push(fields[fields.indexOf(":path") + 1] ?? "");
            stream.respond([":status", "200"], true);
          },
          onHeaderOverflow: (limit) => overflows.push(limit),
        },
      );
    });
    s.on("error", ignoreAcceptError);
    const r = await client(await listen(s));
    defer(() => closeServer(s));
    const head = [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "a"];
    r.send(frame(FrameType.HEADERS, Flag.END_STREAM | Flag.END_HEADERS, 1, block([...head, "x-1", "1"])));
    r.send(
      frame(
        FrameType.HEADERS,
        Flag.END_STREAM | Flag.END_HEADERS,
        3,
        block([...head, "x-1", "1", "x-2", "2"]),
      ),
    );
    expect(await rstCode(r, 3)).toBe(ErrorCode.INTERNAL_ERROR);
    r.send(frame(FrameType.PING, 0, 0, Buffer.alloc(8)));
    await r.waitFor((f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0);
    expect(requests).toEqual(["/"]);
    expect(overflows).toEqual(["count"]);
    expect(r.frames.some((f) => f.type === FrameType.GOAWAY)).toBe(false);
  });

  it("ignores DATA still in flight on a stream it reset, and keeps the connection", async () => {
    const s: Server = createH2cServer((stream) => stream.reset(ErrorCode.CANCEL));
    const port = await listen(s);
    defer(() => closeServer(s));
    const r = await client(port);
    r.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, getHeaderBlock("/", "x")));
    expect(await rstCode(r, 1)).toBe(ErrorCode.CANCEL);
    r.send(frame(FrameType.DATA, 0, 1, Buffer.from("late")), frame(FrameType.PING, 0, 0, Buffer.alloc(8)));
    await r.waitFor((f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0);
    expect(r.frames.some((f) => f.type === FrameType.GOAWAY)).toBe(false);
  });

  it("refuses a stream above SETTINGS_MAX_CONCURRENT_STREAMS with REFUSED_STREAM", async () => {
    const r = await client(await server({ maxConcurrentStreams: 2 }));
    // Open (no END_STREAM) streams 1 and 3, then 5.
    for (const id of [1, 3, 5])
      r.send(frame(FrameType.HEADERS, Flag.END_HEADERS, id, getHeaderBlock("/", "x")));
    expect(await rstCode(r, 5)).toBe(ErrorCode.REFUSED_STREAM);
    expect(r.frames.some((f) => f.type === FrameType.RST_STREAM && f.streamId !== 5)).toBe(false);
  });

  it("treats a content-length that the DATA does not match as malformed", async () => {
    const r = await client(await server());
    const fields = [":method", "POST", ":scheme", "http", ":path", "/", "content-length", "5"];
    r.send(
      frame(FrameType.HEADERS, Flag.END_HEADERS, 1, block(fields)),
      frame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from("abc")),
    );
    expect(await rstCode(r, 1)).toBe(ErrorCode.PROTOCOL_ERROR);
  });

  it("empty DATA frames flood: ENHANCE_YOUR_CALM (Envoy's limit: 1 in a row)", async () => {
    const r = await client(await server());
    const empty = frame(FrameType.DATA, 0, 1, Buffer.alloc(0));
    r.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, getHeaderBlock("/", "x")), empty, empty);
    expect(await goawayCode(r)).toBe(ErrorCode.ENHANCE_YOUR_CALM);
  });

  it("CONTINUATION flood: empty CONTINUATION frames without end close the connection", async () => {
    const r = await client(await server());
    const empty = frame(FrameType.CONTINUATION, 0, 1, Buffer.alloc(0));
    r.send(
      frame(FrameType.HEADERS, 0, 1, getHeaderBlock("/", "x")),
      ...Array.from({ length: 200 }, () => empty),
    );
    expect(await goawayCode(r)).toBe(ErrorCode.ENHANCE_YOUR_CALM);
  });

  it("PING flood: more control frames owed than the limit closes the connection", async () => {
    const r = await client(await server({ maxOutboundControlFrames: 100 }));
    await r.waitFor((f) => f.type === FrameType.SETTINGS);
    const ping = frame(FrameType.PING, 0, 0, Buffer.alloc(8));
    r.send(...Array.from({ length: 500 }, () => ping));
    expect(await goawayCode(r)).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    expect(r.frames.filter((f) => f.type === FrameType.PING).length).toBeLessThanOrEqual(100);
  });

  it("PRIORITY flood: more than 100 per stream opened (Envoy's limit) closes the connection", async () => {
    const r = await client(await server());
    const priority = frame(FrameType.PRIORITY, 0, 3, Buffer.from([0, 0, 0, 0, 16]));
    r.send(...Array.from({ length: 100 }, () => priority));
    await sleep(50);
    expect(r.frames.some((f) => f.type === FrameType.GOAWAY)).toBe(false);
    r.send(priority);
    expect(await goawayCode(r)).toBe(ErrorCode.ENHANCE_YOUR_CALM);
  });

  it("WINDOW_UPDATE flood: above 5 + 2 x (streams + 10 x DATA frames sent) closes the connection", async () => {
    const r = await client(await server());
    const update = windowUpdateFrame(1, 0);
    r.send(...Array.from({ length: 5 }, () => update));
    await sleep(50);
    expect(r.frames.some((f) => f.type === FrameType.GOAWAY)).toBe(false);
    r.send(update);
    expect(await goawayCode(r)).toBe(ErrorCode.ENHANCE_YOUR_CALM);
  });

  it("outbound flood: a client that sends requests and never reads is closed past maxOutboundFrames", async () => {
    const big = "v".repeat(8000);
    const s: Server = createH2cServer((stream) => stream.respond([":status", "200", "x-big", big], true), {
      maxOutboundFrames: 200,
    });
    const port = await listen(s);
    defer(() => closeServer(s));
    const r = await client(port);
    r.socket.pause();
    let closed = false;
    void r.closed.then(() => {
      closed = true;
    });
    // 8 KB responses x 2000 is well past what the kernel buffers hold for a reader that never reads.
    for (let batch = 0; batch < 20 && !closed; batch++) {
      const frames: Buffer[] = [];
      for (let i = 0; i < 100; i++)
        frames.push(headersFrame(1 + 2 * (batch * 100 + i), getHeaderBlock("/", "x")));
      r.send(...frames);
      await sleep(20);
    }
    r.socket.resume();
    expect(await goawayCode(r)).toBe(ErrorCode.ENHANCE_YOUR_CALM);
  });

  it("rapid reset: half of the streams reset by the client before the response closes it", async () => {
    const s: Server = createH2cServer(() => {}, { prematureResetMinStreams: 50 });
    const port = await listen(s);
    defer(() => closeServer(s));
    const r = await client(port);
    const frames: Buffer[] = [];
    for (let i = 0; i < 60; i++) {
      const id = 1 + 2 * i;
      frames.push(headersFrame(id, getHeaderBlock("/", "x")), rstStreamFrame(id));
    }
    r.send(...frames);
    expect(await goawayCode(r)).toBe(ErrorCode.ENHANCE_YOUR_CALM);
  });

  it("extended CONNECT (RFC 8441): accepted when enabled, a tunnel both ways", async () => {
    const r = await client(await server({ enableConnectProtocol: true }));
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
      "x",
    ];
    r.send(
      frame(FrameType.HEADERS, Flag.END_HEADERS, 1, block(ws)),
      frame(FrameType.DATA, 0, 1, Buffer.from("ping")),
    );
    const echoed = await r.waitFor((f) => f.type === FrameType.DATA && f.streamId === 1);
    expect(echoed.payload.toString()).toBe("ping");
    const refused = await client(await server());
    refused.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, block(ws)));
    expect(await rstCode(refused, 1)).toBe(ErrorCode.PROTOCOL_ERROR);
  });

  it("splits a response head larger than SETTINGS_MAX_FRAME_SIZE into CONTINUATION frames", async () => {
    const s: Server = createH2cServer((stream) => {
      stream.respond([":status", "200", "x-big", "v".repeat(40_000)], true);
    });
    const port = await listen(s);
    defer(() => closeServer(s));
    const r = await client(port);
    r.send(headersFrame(1, getHeaderBlock("/", "x")));
    const last = await r.waitFor(
      (f) => f.type === FrameType.CONTINUATION && (f.flags & Flag.END_HEADERS) !== 0,
    );
    const parts = r.frames.filter((f) => f.streamId === 1).map((f) => f.type);
    expect(parts).toEqual([FrameType.HEADERS, FrameType.CONTINUATION, FrameType.CONTINUATION]);
    expect(r.fields(last)).toEqual([":status", "200", "x-big", "v".repeat(40_000)]);
  });
});
