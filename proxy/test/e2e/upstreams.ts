/**
 * Test upstreams the e2e tests steer by the last path segment:
 *   .../die       200 with content-length 1 MB, 64 KiB of it, then the connection (h1) or the
 *                 stream (h2, RST_STREAM INTERNAL_ERROR) dies
 *   .../hang      200 and 1 KiB of body, then nothing until the proxy lets go
 *   .../record    reads the body, answers 200 with JSON `{ body, trailers }` of what arrived
 *   anything else 200 `ok`
 * `hanging` counts /hang exchanges whose socket/stream is still open: the proxy released its
 * upstream when it drops back to 0.
 */
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo, Socket } from "node:net";

export interface TestUpstreams {
  h1Port: number;
  h2Port: number;
  hanging: { h1: number; h2: number };
  /** /hang exchanges seen so far. */
  hangsSeen: { h1: number; h2: number };
  close(): Promise<void>;
}

const MB = 1024 * 1024;

export async function startTestUpstreams(): Promise<TestUpstreams> {
  const hanging = { h1: 0, h2: 0 };
  const hangsSeen = { h1: 0, h2: 0 };
  const sockets = new Set<Socket>();

  const h1 = http.createServer((req, res) => {
    req.on("error", () => {});
    res.on("error", () => {});
    const last = String(req.url).split("?")[0]?.split("/").pop();
    if (last === "die") {
      res.writeHead(200, { "content-length": String(MB) });
      res.write(Buffer.alloc(64 * 1024, 0x61), () => setTimeout(() => req.socket.destroy(), 50));
    } else if (last === "hang") {
      hanging.h1++;
      hangsSeen.h1++;
      req.socket.once("close", () => hanging.h1--);
      res.writeHead(200, { "content-type": "text/plain" });
      res.write(Buffer.alloc(1024, 0x62));
    } else if (last === "record") {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ body: Buffer.concat(chunks).toString(), trailers: req.rawTrailers }));
      });
    } else {
      req.resume();
      req.on("end", () => res.end("ok"));
    }
  });
  h1.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  h1.on("clientError", (_e, s) => s.destroy());

  const h2 = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
    s.on("error", () => {});
  });
  h2.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    const last = String(headers[":path"]).split("?")[0]?.split("/").pop();
    if (last === "die") {
      stream.respond({ ":status": 200, "content-length": String(MB) });
      stream.write(Buffer.alloc(64 * 1024, 0x61), () =>
        setTimeout(() => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR), 50),
      );
    } else if (last === "hang") {
      hanging.h2++;
      hangsSeen.h2++;
      stream.once("close", () => hanging.h2--);
      stream.respond({ ":status": 200, "content-type": "text/plain" });
      stream.write(Buffer.alloc(1024, 0x62));
    } else if (last === "record") {
      const chunks: Buffer[] = [];
      let trailers: string[] = [];
      stream.on("trailers", (_h: http2.IncomingHttpHeaders, _f: number, raw: string[]) => {
        trailers = raw;
      });
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        stream.respond({ ":status": 200, "content-type": "application/json" });
        stream.end(JSON.stringify({ body: Buffer.concat(chunks).toString(), trailers }));
      });
    } else {
      stream.resume();
      stream.on("end", () => {
        stream.respond({ ":status": 200 });
        stream.end("ok");
      });
    }
  });

  const listen = (s: http.Server | http2.Http2Server): Promise<number> =>
    new Promise((r) => s.listen(0, "127.0.0.1", () => r((s.address() as AddressInfo).port)));
  const [h1Port, h2Port] = [await listen(h1), await listen(h2)];
  return {
    h1Port,
    h2Port,
    hanging,
    hangsSeen,
    async close() {
      for (const s of sockets) s.destroy();
      for (const s of sessions) s.destroy();
      await Promise.all([new Promise((r) => h1.close(r)), new Promise((r) => h2.close(r))]);
    },
  };
}
