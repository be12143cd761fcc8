/**
 * A raw HTTP/2 client for the connection tests: writes exactly the frames a test gives (lib/h2_frames.ts,
 * independent of the layer under test) and records every frame the server sends.
 */
import net from "node:net";
import { type Frame, FrameReader, H2_PREFACE, settingsFrame } from "../../h2_frames.js";
import { HpackDecoder } from "../../http2/hpack.js";

export interface Raw {
  socket: net.Socket;
  frames: Frame[];
  closed: Promise<void>;
  send(...frames: Buffer[]): void;
  /** Resolves with the first frame (from `from` on) matching, or rejects after `ms`. */
  waitFor(match: (f: Frame) => boolean, ms?: number, from?: number): Promise<Frame>;
  /** The fields of the header block a HEADERS (or its last CONTINUATION) frame ends; the server pads nothing. */
  fields(f: Frame): string[];
}

export async function rawClient(port: number, settings: Array<[number, number]> = []): Promise<Raw> {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  socket.on("error", () => {});
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  // Every header block is decoded on arrival, in order, so the HPACK state stays in step.
  const decoder = new HpackDecoder();
  const decoded = new WeakMap<Frame, string[]>();
  let pending: Buffer[] = [];
  const reader = new FrameReader((f) => {
    const copy = { ...f, payload: Buffer.from(f.payload) };
    if (f.type === 1 || f.type === 9) {
      pending.push(copy.payload);
      if ((f.flags & 0x4) !== 0) {
        const out: string[] = [];
        decoder.decode(Buffer.concat(pending), out);
        pending = [];
        decoded.set(copy, out);
      }
    }
    frames.push(copy);
    for (const w of waiters) w();
  });
  socket.on("data", (d: Buffer) => reader.push(d));
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  socket.write(Buffer.concat([H2_PREFACE, settingsFrame(settings)]));
  return {
    socket,
    frames,
    closed,
    send: (...fs) => socket.write(Buffer.concat(fs)),
    waitFor(match, ms = 2000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const f = frames.slice(from).find(match);
          if (f === undefined) return false;
          waiters.delete(check as () => void);
          clearTimeout(timer);
          resolve(f);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check as () => void);
          reject(
            new Error(`no matching frame in ${ms} ms; got types ${frames.map((f) => f.type).join(",")}`),
          );
        }, ms);
        if (!check()) waiters.add(check as () => void);
      });
    },
    fields: (f) => decoded.get(f) ?? [],
  };
}
