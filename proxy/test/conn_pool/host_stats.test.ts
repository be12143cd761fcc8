/**
 * Per-host `rq_success` / `rq_error` (admin /clusters), counted as Envoy's router does: by the
 * response head. Regression: the HTTP/2 pool counted success only when the stream's end had been
 * read, so a client that hung up on the last body byte (curl with content-length, through the front
 * proxy) left rq_success short of rq_total with rq_error 0.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { ConnPool, UpstreamRequestHandle } from "../../conn_pool/types.js";
import { close, listen, makePool, type PoolUnderTest, send, waitFor } from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function usePool(t: PoolUnderTest): ConnPool {
  cleanups.push(() => t.pool.destroy());
  return t.pool;
}

/** Sends the whole body (with content-length) at once, and the end of the response 100 ms later. */
async function lateEndH2(): Promise<number> {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
    s.on("error", () => {});
  });
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
  const port = await listen(server);
  cleanups.push(async () => {
    for (const s of sessions) s.destroy();
    await close(server);
  });
  return port;
}

async function lateEndH1(): Promise<number> {
  const server = http.createServer((req, res) => {
    const status = Number(String(req.url).slice(1)) || 200;
    res.writeHead(status, { "content-length": "5" });
    res.write("hello");
    setTimeout(() => res.end(), 100);
  });
  const port = await listen(server);
  cleanups.push(() => close(server));
  return port;
}

/** Aborts as soon as `bytes` body bytes arrived: what the router does when the client hangs up. */
function abortAfterBody(pool: ConnPool, bytes: number, path = "/"): Promise<void> {
  return new Promise((resolve) => {
    let got = 0;
    const h: UpstreamRequestHandle = pool.request(
      { method: "GET", path, authority: "a", headers: [], body: null },
      {
        onHeaders() {},
        onData(chunk) {
          got += chunk.length;
          if (got >= bytes) {
            h.abort();
            resolve();
          }
        },
        onComplete: () => resolve(),
        onError: () => resolve(),
      },
    );
  });
}

for (const protocol of ["http1", "http2"] as const) {
  describe(`${protocol} pool: per-host request outcome`, () => {
    const upstream = protocol === "http2" ? lateEndH2 : lateEndH1;

    it("counts a request whose client left on the last body byte as a success", async () => {
      const t = makePool(await upstream(), { protocol });
      const pool = usePool(t);
      for (let i = 0; i < 3; i++) await abortAfterBody(pool, 5);
      expect(t.host.stats).toMatchObject({ rqTotal: 3, rqSuccess: 3, rqError: 0, rqActive: 0 });
    });

    it("counts completed requests once each", async () => {
      const t = makePool(await upstream(), { protocol });
      const pool = usePool(t);
      for (let i = 0; i < 3; i++) expect((await send(pool)).body.toString()).toBe("hello");
      expect(t.host.stats).toMatchObject({ rqTotal: 3, rqSuccess: 3, rqError: 0, rqActive: 0 });
    });

    it("counts a 5xx response head as an error", async () => {
      const t = makePool(await upstream(), { protocol });
      const pool = usePool(t);
      expect((await send(pool, { path: "/503" })).status).toBe(503);
      expect((await send(pool, { path: "/404" })).status).toBe(404);
      expect(t.host.stats).toMatchObject({ rqTotal: 2, rqSuccess: 1, rqError: 1, rqActive: 0 });
    });

    it("counts a failure before any response head as an error", async () => {
      const server = net.createServer();
      const port = await listen(server);
      await close(server);
      const t = makePool(port, { protocol });
      const pool = usePool(t);
      expect((await send(pool)).error?.reason).toBe("connection failure");
      await waitFor(() => t.host.stats.rqActive === 0);
      expect(t.host.stats).toMatchObject({ rqTotal: 1, rqSuccess: 0, rqError: 1 });
    });
  });
}
