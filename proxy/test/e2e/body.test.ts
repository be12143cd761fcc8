/**
 * A 100 MB body through h1 -> front -> h2c -> sidecar -> h1 -> echo `POST /echo` and back: the
 * sha256 matches both ways and neither proxy's resident memory grows by more than 100 MB
 * (bodies stream with backpressure; nothing buffers the whole body).
 */
import { createHash } from "node:crypto";
import http from "node:http";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { useMesh } from "./harness.js";

const SIZE = 100 * 1024 * 1024;
const CHUNK = 64 * 1024;
const MB = 1024 * 1024;

const mesh = useMesh();

/** SIZE bytes in 64 KiB chunks, each chunk different, hashed as it is produced. */
function body(hash: ReturnType<typeof createHash>): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= SIZE) {
        this.push(null);
        return;
      }
      const c = Buffer.alloc(CHUNK, (sent / CHUNK) & 0xff);
      c.writeUInt32BE(sent, 0);
      sent += CHUNK;
      hash.update(c);
      this.push(c);
    },
  });
}

describe("100 MB through h1 -> h2c -> h1 and back", () => {
  it("keeps the checksum both ways with flat proxy memory", async () => {
    const { front, sidecar } = mesh;
    const base = { front: front.rss(), sidecar: sidecar.rss() };
    const peak = { ...base };
    const sampler = setInterval(() => {
      peak.front = Math.max(peak.front, front.rss());
      peak.sidecar = Math.max(peak.sidecar, sidecar.rss());
    }, 50);
    const sent = createHash("sha256");
    const received = createHash("sha256");
    const started = Date.now();
    let result: { status: number; bytes: number; via: string | undefined };
    try {
      result = await new Promise((resolve, reject) => {
        const req = http.request(
          {
            host: "127.0.0.1",
            port: front.port,
            path: "/echo",
            method: "POST",
            agent: false,
            headers: { "content-type": "application/octet-stream", "content-length": String(SIZE) },
          },
          (res) => {
            let bytes = 0;
            res.on("data", (c: Buffer) => {
              bytes += c.length;
              received.update(c);
            });
            res.on("end", () =>
              resolve({ status: res.statusCode ?? 0, bytes, via: res.headers["x-echo-protocol"] as string }),
            );
            res.on("error", reject);
          },
        );
        req.on("error", reject);
        body(sent).pipe(req);
      });
    } finally {
      clearInterval(sampler);
    }
    const seconds = (Date.now() - started) / 1000;
    const growth = { front: (peak.front - base.front) / MB, sidecar: (peak.sidecar - base.sidecar) / MB };
    console.log(
      `100 MB echo round trip: ${seconds.toFixed(1)} s; RSS front ${(base.front / MB).toFixed(0)} -> peak ` +
        `${(peak.front / MB).toFixed(0)} MB (+${growth.front.toFixed(0)}), sidecar ${(base.sidecar / MB).toFixed(0)} ` +
        `-> peak ${(peak.sidecar / MB).toFixed(0)} MB (+${growth.sidecar.toFixed(0)})`,
    );
    expect(result.status).toBe(200);
    expect(result.via).toBe("HTTP/1.1");
    expect(result.bytes).toBe(SIZE);
    expect(received.digest("hex")).toBe(sent.digest("hex"));
    expect(growth.front).toBeLessThan(100);
    expect(growth.sidecar).toBeLessThan(100);
    // The h2c hop carried it.
    expect(await sidecar.stat("http.sidecar.downstream_cx_http2_total")).toBeGreaterThan(0);
    expect(front.alive && sidecar.alive).toBe(true);
  }, 120_000);
});
