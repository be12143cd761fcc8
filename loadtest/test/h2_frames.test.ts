/**
 * The attack client's raw HTTP/2 against node:http2 on loopback: the statuses it reads back (static
 * index and Huffman literal), and the GOAWAY of a server whose stream limit is exceeded.
 */
import http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { decodeStatus, getHeaderBlock, headersFrame } from "../../lib/h2_frames.js";
import { closeServer, listen } from "../../test-support/servers.js";
import { RawH2Client } from "../attacks/h2_frames.js";

const servers: http2.Http2Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => closeServer(s)));
});

async function server(
  settings: http2.Settings,
  handler: (stream: http2.ServerHttp2Stream, path: string) => void,
): Promise<number> {
  const s = http2.createServer({ settings });
  s.on("sessionError", () => undefined); // the GOAWAY test's protocol error: the client counts it
  s.on("stream", (stream, headers) => handler(stream, String(headers[":path"])));
  servers.push(s);
  return listen(s);
}

describe("raw h2c attack client", () => {
  it("reads :status from the static table and from Huffman literals (200, 404, 503, 429)", async () => {
    const port = await server({}, (stream, path) => {
      stream.respond({ ":status": Number(path.slice(1)) });
      stream.end();
    });
    const c = await RawH2Client.connect(port);
    const paths = ["/200", "/404", "/503", "/429", "/503"];
    await c.write(Buffer.concat(paths.map((p, i) => headersFrame(2 * i + 1, getHeaderBlock(p, "x")))));
    await expect.poll(() => Object.values(c.tally.statuses).reduce((a, b) => a + b, 0)).toBe(5);
    expect(c.tally.statuses).toEqual({ "200": 1, "404": 1, "503": 2, "429": 1 });
    await c.close();
    expect(c.tally.closedByServer).toBe(false);
  });

  it("counts GOAWAY and the close of a server that ends the connection past its stream limit", async () => {
    // streams held open (the limit stays reached); they fail with the session
    const port = await server({ maxConcurrentStreams: 2 }, (stream) => stream.on("error", () => undefined));
    const c = await RawH2Client.connect(port);
    await new Promise((r) => setTimeout(r, 100)); // the server's SETTINGS, acknowledged
    const block = getHeaderBlock("/", "x");
    await c.write(Buffer.concat([1, 3, 5, 7, 9].map((id) => headersFrame(id, block))));
    await c.waitClosed(5000);
    // nghttp2: more streams than the acknowledged limit is a connection error (Node sends INTERNAL_ERROR)
    expect(c.tally.goaway).not.toBeNull();
    expect(c.tally.closedByServer).toBe(true);
  });

  it("decodes raw literals and gives up on dynamic-table references", () => {
    expect(decodeStatus(Buffer.from([0x08, 0x03, ...Buffer.from("503")]))).toBe(503);
    expect(decodeStatus(Buffer.from([0x20, 0x88]))).toBe(200); // a table size update first
    expect(decodeStatus(Buffer.from([0xbe]))).toBeNull();
  });
});
