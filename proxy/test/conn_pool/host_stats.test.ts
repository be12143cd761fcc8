/**
 * Per-host `rq_success` / `rq_error` (admin /clusters), counted as Envoy's router does: by the
 * response head. Regression: the HTTP/2 pool counted success only when the stream's end had been
 * read, so a client that hung up on the last body byte (curl with content-length, through the front
 * proxy) left rq_success short of rq_total with rq_error 0.
 */
import http from "node:http";
import http2 from "node:http2";
import { describe, expect, it } from "vitest";
import { freePort } from "../../../lib/net.js";
import { waitUntil } from "../../../lib/wait.js";
import { abortAfterBody, send, usePools } from "./helpers.js";

const { makePool, serve } = usePools();

/** Sends the whole body (with content-length) at once, and the end of the response 100 ms later. */
async function lateEndH2(): Promise<number> {
  const server = http2.createServer();
  server.on("session", (s) => s.on("error", () => {}));
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    const status = Number(String(headers[":path"]).slice(1)) || 200;
    stream.respond({ ":status": status, "content-length": "5" });
    stream.write("hello");
    const t = setTimeout(() => {
      if (!stream.closed) stream.end();
    }, 100);
    stream.on("close", () => clearTimeout(t));
  });
  return serve(server);
}

async function lateEndH1(): Promise<number> {
  const server = http.createServer((req, res) => {
    const status = Number(String(req.url).slice(1)) || 200;
    res.writeHead(status, { "content-length": "5" });
    res.write("hello");
    setTimeout(() => res.end(), 100);
  });
  return serve(server);
}

for (const protocol of ["http1", "http2"] as const) {
  describe(`${protocol} pool: per-host request outcome`, () => {
    const upstream = protocol === "http2" ? lateEndH2 : lateEndH1;

    it("counts a request whose client left on the last body byte as a success", async () => {
      const { pool, host } = makePool(await upstream(), { protocol });
      for (let i = 0; i < 3; i++) await abortAfterBody(pool, 5);
      expect(host.stats).toMatchObject({ rq_total: 3, rq_success: 3, rq_error: 0, rq_active: 0 });
    });

    it("counts completed requests once each", async () => {
      const { pool, host } = makePool(await upstream(), { protocol });
      for (let i = 0; i < 3; i++) expect((await send(pool)).body.toString()).toBe("hello");
      expect(host.stats).toMatchObject({ rq_total: 3, rq_success: 3, rq_error: 0, rq_active: 0 });
    });

    it("counts a 5xx response head as an error", async () => {
      const { pool, host } = makePool(await upstream(), { protocol });
      expect((await send(pool, { path: "/503" })).status).toBe(503);
      expect((await send(pool, { path: "/404" })).status).toBe(404);
      expect(host.stats).toMatchObject({ rq_total: 2, rq_success: 1, rq_error: 1, rq_active: 0 });
    });

    it("counts a failure before any response head as an error", async () => {
      const { pool, host } = makePool(await freePort(), { protocol });
      expect((await send(pool)).error?.reason).toBe("connection failure");
      await waitUntil("the request is released", () => host.stats.rq_active === 0);
      // As Envoy: a request whose connect failed was never sent (rq_total 0), but it is an error.
      expect(host.stats).toMatchObject({ rq_total: 0, rq_success: 0, rq_error: 1, cx_connect_fail: 1 });
    });
  });
}
