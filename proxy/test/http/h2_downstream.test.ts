import { describe, expect, it } from "vitest";
import {
  decodeStatus,
  type Frame,
  FrameFlag,
  FrameType,
  frame,
  getHeaderBlock,
  headerBlock,
  headersFrame,
  rstStreamFrame,
} from "../../../lib/h2_frames.js";
import { waitUntil } from "../../../lib/wait.js";
import { h2, rawH2 } from "../../../test-support/h2.js";
import { prefixRoutes, useProxies } from "./helpers.js";

const { proxy, upstream } = useProxies();

const DIRECT = prefixRoutes({ "/": 'direct_response: { status: 200, body: { inline_string: "hi" } }' });

const PING = frame(FrameType.PING, 0, 0, Buffer.from("12345678"));

function isPingAck(f: Frame): boolean {
  return f.type === FrameType.PING && (f.flags & FrameFlag.ACK) !== 0;
}

describe("h2c downstream on lib/http2", () => {
  it("a local reply while the request body is still coming: the response, then RST_STREAM NO_ERROR", async () => {
    const p = await proxy(DIRECT, {});
    const c = await rawH2(p.port);
    // HEADERS without END_STREAM: a body is announced and never sent.
    c.send(frame(FrameType.HEADERS, FrameFlag.END_HEADERS, 1, getHeaderBlock("/post", "a")));
    await waitUntil("the stream is reset", () =>
      c.frames.some((f) => f.type === FrameType.RST_STREAM && f.streamId === 1),
    );
    const onStream = c.frames.filter((f) => f.streamId === 1);
    expect(onStream.map((f) => f.type)).toEqual([FrameType.HEADERS, FrameType.DATA, FrameType.RST_STREAM]);
    expect(decodeStatus(headerBlock(onStream[0] as Frame))).toBe(200);
    expect((onStream[1] as Frame).payload.toString()).toBe("hi");
    expect(((onStream[1] as Frame).flags & FrameFlag.END_STREAM) !== 0).toBe(true);
    expect((onStream[2] as Frame).payload.readUInt32BE(0)).toBe(0);
    c.destroy();
  });

  it("rapid reset: 249 HEADERS+RST_STREAM keep the connection, the 250th closes it without a GOAWAY", async () => {
    const p = await proxy(DIRECT, {});
    const c = await rawH2(p.port);
    const pairs = (from: number, n: number): Buffer[] => {
      const out: Buffer[] = [];
      for (let i = 0; i < n; i++) {
        const id = 2 * (from + i) + 1;
        out.push(headersFrame(id, getHeaderBlock("/", "a")), rstStreamFrame(id));
      }
      return out;
    };
    c.send(...pairs(0, 249), PING);
    await waitUntil("the PING is answered", () => c.frames.some(isPingAck));
    expect(c.closed).toBe(false);
    expect(p.stat("http.ingress.downstream_rq_too_many_premature_resets")).toBe(0);
    c.send(...pairs(249, 1));
    await waitUntil("the connection is closed", () => c.closed);
    expect(c.frames.some((f) => f.type === FrameType.GOAWAY)).toBe(false);
    expect(p.stat("http.ingress.downstream_rq_too_many_premature_resets")).toBe(1);
    // Reset in the read that brought them: counted, never answered.
    expect(p.stat("http.ingress.downstream_rq_total")).toBe(250);
    expect(p.stat("http.ingress.downstream_rq_rx_reset")).toBe(250);
    expect(p.stat("http.ingress.rq_total")).toBe(0);
  });

  it("empty DATA frames (max_consecutive_inbound_frames_with_empty_payload 1): GOAWAY ENHANCE_YOUR_CALM at the second", async () => {
    const p = await proxy(DIRECT, {});
    const c = await rawH2(p.port);
    const empty = frame(FrameType.DATA, 0, 1, Buffer.alloc(0));
    c.send(frame(FrameType.HEADERS, FrameFlag.END_HEADERS, 1, getHeaderBlock("/", "a")), empty, empty);
    await waitUntil("the connection is closed", () => c.closed);
    const goaway = c.frames.find((f) => f.type === FrameType.GOAWAY);
    expect(goaway?.payload.readUInt32BE(4)).toBe(0xb);
    // As Envoy 1.40: its own counter, not a protocol error.
    expect(p.stat("http2.inbound_empty_frames_flood")).toBe(1);
    expect(p.stat("http.ingress.downstream_cx_protocol_error")).toBe(0);
    // The stream was cut before it was routed.
    expect(p.stat("http.ingress.rq_total")).toBe(0);
  });

  it("a 1 MiB request body reaches an HTTP/1.1 upstream whole, read with backpressure", async () => {
    const up = await upstream((req, res) => {
      let n = 0;
      let sum = 0;
      // A slow reader: the body must wait for it rather than pile up.
      req.on("data", (chunk: Buffer) => {
        n += chunk.length;
        for (const b of chunk) sum = (sum + b) % 65521;
        req.pause();
        setTimeout(() => req.resume(), 1);
      });
      req.on("end", () => res.end(`${n} ${sum}`));
    });
    const p = await proxy(prefixRoutes({ "/": "route: { cluster: backend }" }), { backend: up.port });
    const body = Buffer.alloc(1024 * 1024);
    let sum = 0;
    for (let i = 0; i < body.length; i++) {
      body[i] = (i * 7) & 0xff;
      sum = (sum + (body[i] as number)) % 65521;
    }
    const reply = await h2(p.port, "/upload", { method: "POST", body });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe(`${body.length} ${sum}`);
    expect(p.stat("http.ingress.downstream_rq_http2_total")).toBe(1);
  });

  it("a 4 MiB response trickled by the upstream reaches a client whose windows are 64 KiB", async () => {
    const up = await upstream((_req, res) => {
      let left = 64;
      const next = (): void => {
        if (left-- === 0) {
          res.end();
          return;
        }
        if (res.write(Buffer.alloc(64 * 1024, left))) setTimeout(next, 1);
        else res.once("drain", next);
      };
      next();
    });
    const p = await proxy(prefixRoutes({ "/": "route: { cluster: backend }" }), { backend: up.port });
    const reply = await h2(p.port, "/download", { timeoutMs: 10_000 });
    expect(reply.status).toBe(200);
    expect(reply.body.length).toBe(4 * 1024 * 1024);
    expect(reply.body[0]).toBe(63);
    expect(reply.body[reply.body.length - 1]).toBe(0);
  });
});
