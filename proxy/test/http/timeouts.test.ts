import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { sleep, waitUntil } from "../../../lib/wait.js";
import { h2 } from "../../../test-support/h2.js";
import { raw, request } from "../../../test-support/http.js";
import { StreamTimeouts, type TimedStream } from "../../http/stream_timeouts.js";
import { useProxyFixture } from "./helpers.js";

const setup = useProxyFixture().start;

/** An upstream that never answers, remembering when its request was aborted. */
function silent(aborted: { value: boolean }): http.RequestListener {
  return (req) => {
    req.resume();
    req.socket.on("close", () => {
      aborted.value = true;
    });
  };
}

describe("stream_idle_timeout", () => {
  it("answers 408 `stream timeout` (flag SI) when nothing moves before the response, and lets go of the upstream", async () => {
    const aborted = { value: false };
    const p = await setup({ hcmExtra: "stream_idle_timeout: 0.3s", handler: silent(aborted) });
    const started = Date.now();
    const res = await request(p.port, "/");
    expect(res.status).toBe(408);
    expect(res.text).toBe("stream timeout");
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(p.stat("http.ingress.downstream_rq_idle_timeout")).toBe(1);
    await p.logged();
    expect(p.entries[0]?.responseFlags).toContain("SI");
    expect(p.entries[0]?.responseCodeDetails).toBe("stream_idle_timeout");
    await waitUntil("the upstream request is aborted", () => aborted.value);
  });

  it("resets the stream when the response started and then stalls", async () => {
    const p = await setup({
      hcmExtra: "stream_idle_timeout: 0.3s",
      handler: (_req, res) => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("partial");
      },
    });
    const outcome = await new Promise<string>((resolve) => {
      const req = http.get({ host: "127.0.0.1", port: p.port, path: "/", agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          body += c;
        });
        res.on("end", () => resolve(`end:${body}`));
        res.on("error", () => resolve(`reset:${res.statusCode}:${body}`));
        res.on("aborted", () => resolve(`reset:${res.statusCode}:${body}`));
      });
      req.on("error", () => resolve("reset-before-headers"));
    });
    expect(outcome).toBe("reset:200:partial");
    expect(p.stat("http.ingress.downstream_rq_idle_timeout")).toBe(1);
    await p.logged();
    expect(p.entries[0]?.responseFlags).toContain("SI");
  });

  it("is restarted by activity: a response trickling slower than the route timeout but faster than the idle timeout completes", async () => {
    const p = await setup({
      hcmExtra: "stream_idle_timeout: 0.4s",
      handler: (_req, res) => {
        res.writeHead(200, { "content-type": "text/plain" });
        let n = 0;
        const t = setInterval(() => {
          res.write("x");
          if (++n === 8) {
            clearInterval(t);
            res.end();
          }
        }, 100);
        res.on("close", () => clearInterval(t));
      },
    });
    const res = await request(p.port, "/");
    expect(res.status).toBe(200);
    expect(res.text).toBe("xxxxxxxx");
    expect(p.stat("http.ingress.downstream_rq_idle_timeout")).toBe(0);
  });

  it("applies on HTTP/2 streams too", async () => {
    const aborted = { value: false };
    const p = await setup({ hcmExtra: "stream_idle_timeout: 0.3s", handler: silent(aborted) });
    const res = await h2(p.port, "/");
    expect(res.status).toBe(408);
    expect(res.text).toBe("stream timeout");
    await waitUntil("the upstream request is aborted", () => aborted.value);
  });

  it("is replaced by the route's idle_timeout (which can enable it ...)", async () => {
    const aborted = { value: false };
    const p = await setup({
      hcmExtra: "stream_idle_timeout: 0s",
      routes: `- match: { prefix: "/" }
  route: { cluster: backend, idle_timeout: 0.3s }`,
      handler: silent(aborted),
    });
    const res = await request(p.port, "/");
    expect(res.status).toBe(408);
    expect(res.text).toBe("stream timeout");
  });

  it("(... or disable it)", async () => {
    const p = await setup({
      hcmExtra: "stream_idle_timeout: 0.2s",
      routes: `- match: { prefix: "/" }
  route: { cluster: backend, idle_timeout: 0s }`,
      handler: (_req, res) => {
        setTimeout(() => res.end("late"), 600);
      },
    });
    const res = await request(p.port, "/");
    expect(res.status).toBe(200);
    expect(res.text).toBe("late");
  });

  it("keeps the keep-alive connection usable after a 408 for a complete request", async () => {
    let calls = 0;
    const p = await setup({
      hcmExtra: "stream_idle_timeout: 0.3s",
      handler: (req, res) => {
        req.resume();
        if (++calls > 1) res.end("second");
      },
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (): Promise<[number, string]> =>
      new Promise((resolve, reject) => {
        http
          .get({ host: "127.0.0.1", port: p.port, path: "/", agent }, (res) => {
            let body = "";
            res.on("data", (c: Buffer) => {
              body += c.toString();
            });
            res.on("end", () => resolve([res.statusCode ?? 0, body]));
          })
          .on("error", reject);
      });
    expect(await get()).toEqual([408, "stream timeout"]);
    expect(await get()).toEqual([200, "second"]);
    expect(p.stat("http.ingress.downstream_cx_total")).toBe(1);
    agent.destroy();
  });
});

describe("request_timeout", () => {
  it("answers 408 `request timeout` and closes when the request body does not arrive in time", async () => {
    const p = await setup({ hcmExtra: "request_timeout: 0.3s", handler: silent({ value: false }) });
    const { text, closedByPeer } = await raw(
      p.port,
      "POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nhalf!",
      { withinMs: 5000 },
    );
    expect(closedByPeer).toBe(true);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toMatch(/\r\n\r\nrequest timeout$/);
    expect(text.toLowerCase()).toContain("connection: close");
    expect(p.stat("http.ingress.downstream_rq_timeout")).toBe(1);
    await p.logged();
    expect(p.entries[0]?.responseCodeDetails).toBe("request_overall_timeout");
  });

  it("covers the request headers too: headers still arriving get 408 `request timeout` and a close", async () => {
    const p = await setup({ hcmExtra: "request_timeout: 0.3s" });
    const started = Date.now();
    // The head never ends (no blank line): a slowloris client.
    const { text, closedByPeer } = await raw(p.port, "GET / HTTP/1.1\r\nhost: x\r\nx-slow: 1\r\n", {
      withinMs: 5000,
    });
    expect(closedByPeer).toBe(true);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toMatch(/\r\n\r\nrequest timeout$/);
    expect(text.toLowerCase()).toContain("connection: close");
    expect(Date.now() - started).toBeLessThan(2000);
    expect(p.stat("http.ingress.downstream_rq_timeout")).toBe(1);
  });

  it("is disarmed once the request has arrived: a slow upstream is not cut", async () => {
    const p = await setup({
      hcmExtra: "request_timeout: 0.2s",
      handler: (req, res) => {
        req.resume();
        req.on("end", () => setTimeout(() => res.end("slow"), 500));
      },
    });
    const res = await request(p.port, "/", { method: "POST", body: "payload" });
    expect(res.status).toBe(200);
    expect(res.text).toBe("slow");
    expect(p.stat("http.ingress.downstream_rq_timeout")).toBe(0);
  });
});

describe("connection idle_timeout (common_http_protocol_options)", () => {
  it("closes an idle HTTP/1.1 keep-alive connection", async () => {
    const p = await setup({ hcmExtra: "common_http_protocol_options: { idle_timeout: 0.3s }" });
    const socket = net.connect(p.port, "127.0.0.1");
    let got = "";
    let answered = 0;
    socket.on("data", (c: Buffer) => {
      got += c.toString("latin1");
      if (answered === 0 && got.includes("\r\n\r\n")) answered = Date.now();
    });
    const closed = new Promise<number>((r) => socket.on("close", () => r(Date.now())));
    socket.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
    const at = await closed;
    expect(got).toMatch(/^HTTP\/1\.1 200 /);
    expect(at - answered).toBeGreaterThanOrEqual(250);
    expect(p.stat("http.ingress.downstream_cx_idle_timeout")).toBe(1);
  });

  it("sends GOAWAY to an idle HTTP/2 connection", async () => {
    const p = await setup({ hcmExtra: "common_http_protocol_options: { idle_timeout: 0.3s }" });
    const session = http2.connect(`http://127.0.0.1:${p.port}`);
    session.on("error", () => {});
    const goaway = new Promise<number>((r) => session.once("goaway", (code: number) => r(code)));
    const closed = new Promise<void>((r) => session.once("close", () => r()));
    const req = session.request({ ":path": "/" });
    req.resume();
    await new Promise((r) => req.on("end", r));
    expect(await goaway).toBe(http2.constants.NGHTTP2_NO_ERROR);
    await closed;
    expect(p.stat("http.ingress.downstream_cx_idle_timeout")).toBe(1);
  });

  it("stays open while the connection is used", async () => {
    const p = await setup({ hcmExtra: "common_http_protocol_options: { idle_timeout: 0.4s }" });
    // A raw socket: node's client would obey the `keep-alive: timeout=0` hint node's server adds.
    const socket = net.connect(p.port, "127.0.0.1");
    let got = "";
    socket.on("data", (c: Buffer) => {
      got += c.toString("latin1");
    });
    let closed = false;
    socket.on("close", () => {
      closed = true;
    });
    for (let i = 1; i <= 4; i++) {
      socket.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
      await waitUntil(`response ${i} arrives`, () => got.split("HTTP/1.1 200 ").length - 1 === i, {
        intervalMs: 10,
      });
      await sleep(250);
    }
    expect(closed).toBe(false);
    expect(p.stat("http.ingress.downstream_cx_total")).toBe(1);
    expect(p.stat("http.ingress.downstream_cx_idle_timeout")).toBe(0);
    socket.destroy();
  });
});

describe("StreamTimeouts (the one clock)", () => {
  function fake(idleMs: number, log: string[], name: string): TimedStream {
    return {
      timerPrev: null,
      timerNext: null,
      timerActive: false,
      timerLastActivity: 0,
      timerIdleMs: idleMs,
      timerRequestDeadline: 0,
      onIdleTimeout: () => log.push(`idle:${name}`),
      onRequestTimeout: () => log.push(`request:${name}`),
    };
  }

  it("fires each deadline once, never for removed streams, and stops ticking when empty", async () => {
    const log: string[] = [];
    const clock = new StreamTimeouts(40);
    expect(clock.tick).toBe(10);
    const a = fake(40, log, "a");
    const b = fake(40, log, "b");
    const c = fake(0, log, "c");
    a.timerLastActivity = b.timerLastActivity = Date.now();
    c.timerRequestDeadline = Date.now() + 40;
    clock.add(a);
    clock.add(b);
    clock.add(c);
    clock.remove(b);
    clock.remove(b);
    await sleep(150);
    expect(log.sort()).toEqual(["idle:a", "request:c"]);
    clock.close();
  });

  it("clamps its tick between 10 ms and 1 s", () => {
    expect(new StreamTimeouts(1).tick).toBe(10);
    expect(new StreamTimeouts(300_000).tick).toBe(1000);
  });
});
