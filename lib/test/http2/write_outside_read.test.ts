/**
 * Writes made outside a socket read (a proxy writes a response as its upstream delivers it, not while
 * the client's frames are parsed) go out on their own: nothing waits for the client's next frame.
 */
import type { Server } from "node:net";
import { describe, expect, it } from "vitest";
import { useCleanup } from "../../../test-support/cleanup.js";
import { closeServer, listen } from "../../../test-support/servers.js";
import { getHeaderBlock, headersFrame } from "../../h2_frames.js";
import { FrameType } from "../../http2/frames.js";
import { createH2cServer } from "../../http2/server.js";
import { rawClient } from "./raw.js";

const defer = useCleanup();

describe("Http2Connection: writes outside a read", () => {
  it("a write that runs out of the peer's window sends what the window allows, without another frame from the peer", async () => {
    const s: Server = createH2cServer((stream) => {
      stream.onEnd = () => {
        stream.respond([":status", "200"]);
        // The body later than the read that brought the request, as an upstream's would be: no
        // flush is pending any more when it is written.
        setTimeout(() => stream.write(Buffer.alloc(100_000, 1)), 20);
      };
    });
    const port = await listen(s);
    defer(() => closeServer(s));
    const r = await rawClient(port);
    defer(() => r.socket.destroy());
    r.send(headersFrame(1, getHeaderBlock("/", "a")));
    // The peer's default window: 65,535 octets, then the rest waits for a WINDOW_UPDATE.
    const received = (): number =>
      r.frames
        .filter((f) => f.type === FrameType.DATA && f.streamId === 1)
        .reduce((n, f) => n + f.payload.length, 0);
    await r.waitFor(() => received() === 65_535, 2000);
    expect(received()).toBe(65_535);
  });
});
