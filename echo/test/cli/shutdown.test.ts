import { readFile } from "node:fs/promises";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEchoCli, runEcho } from "./child.js";
import { closed, h1, h2request, h2session, start, wsConnect, wsOverH2 } from "./helpers.js";

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });
}

describe("graceful close() in process", () => {
  it("finishes in-flight requests, closes WebSockets with 1001, sends GOAWAY, refuses new connections", async () => {
    const echo = await start({ drainTimeoutMs: 5000 });
    const { ws } = await wsConnect(echo.port);
    const session = await h2session(echo.port);
    const h2ws = await wsOverH2(session, echo.port);
    const goaway = new Promise<void>((resolve) => session.once("goaway", () => resolve()));
    const wsClosed = closed(ws);
    const h2wsClosed = closed(h2ws.ws);
    const inFlight = h1(echo.port, "/?echo_delay=400ms");
    const inFlightH2 = h2request(session, { ":path": "/hello?echo_delay=300ms" });
    await new Promise((r) => setTimeout(r, 100));

    const t0 = performance.now();
    const closing = echo.close();
    const [r, r2, c1, c2] = await Promise.all([inFlight, inFlightH2, wsClosed, h2wsClosed, goaway]);
    expect(r.status).toBe(200);
    expect(r.headers.connection).toBe("close");
    expect(r2.status).toBe(200);
    expect(c1.code).toBe(1001);
    expect(c2.code).toBe(1001);
    session.close();
    await closing;
    expect(performance.now() - t0).toBeLessThan(4000); // done by draining, not by the deadline
    expect(await refused(echo.port)).toBe(true);
  });

  it("cuts what is left at the drain timeout", async () => {
    const echo = await start({ drainTimeoutMs: 300 });
    const slow = h1(echo.port, "/?echo_delay=5s").then(
      () => "answered",
      () => "cut",
    );
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    await echo.close();
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(await slow).toBe("cut");
  });

  it("closes idle keep-alive connections right away", async () => {
    const echo = await start({ drainTimeoutMs: 5000 });
    const socket = net.connect(echo.port, "127.0.0.1");
    await new Promise<void>((resolve) => {
      socket.once("data", () => resolve());
      socket.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    });
    const socketClosed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    const t0 = performance.now();
    await echo.close();
    await socketClosed;
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe("the CLI as a child process", () => {
  let main = "";
  let cleanup: () => Promise<void> = async () => {};
  beforeAll(async () => {
    ({ main, cleanup } = await buildEchoCli());
  });
  afterAll(() => cleanup());

  it("on SIGTERM finishes the in-flight request, exits 0 within the drain timeout, then refuses connections", async () => {
    const child = await runEcho(main, ["echo", "--drain-timeout", "3s", "--instance", "child-1"]);
    const inFlight = h1(child.port, "/?echo_delay=700ms");
    await new Promise((r) => setTimeout(r, 150));
    const t0 = performance.now();
    child.proc.kill("SIGTERM");
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(r.headers["x-echo-instance"]).toBe("child-1");
    const exit = await child.exited;
    expect(exit.code).toBe(0);
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(await refused(child.port)).toBe(true);
    expect(child.stdout()).toContain('"msg":"request"'); // access log on by default
  });

  it("logs nothing per request with --no-access-log (or ACCESS_LOG=off), and stays small when idle", async () => {
    for (const [args, env] of [
      [["--no-access-log"], {}],
      [[], { ACCESS_LOG: "off" }],
    ] as const) {
      const child = await runEcho(main, [...args], { ...env });
      await h1(child.port, "/");
      await h1(child.port, "/nope");
      await new Promise((r) => setTimeout(r, 300));
      const rss = Number(
        /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${child.proc.pid}/status`, "utf8"))?.[1],
      );
      expect(rss).toBeGreaterThan(0);
      expect(rss).toBeLessThan(80 * 1024); // idle RSS under 80 MB
      child.proc.kill("SIGINT");
      expect((await child.exited).code).toBe(0);
      expect(child.stdout()).not.toContain('"msg":"request"');
      expect(child.stdout()).toContain("echo service listening");
    }
  });

  it("rejects a bad flag with exit code 2", async () => {
    await expect(runEcho(main, ["--max-body", "lots"])).rejects.toThrow(/exited early \(2\).*max-body/s);
  });
});

describe("HTTP/2 sessions opened during drain", () => {
  it("get GOAWAY and the request still completes if it was already in flight", async () => {
    const echo = await start({ drainTimeoutMs: 2000 });
    const session = await h2session(echo.port);
    const pending = h2request(session, { ":path": "/?echo_delay=200ms" });
    await new Promise((r) => setTimeout(r, 50));
    const closing = echo.close();
    expect((await pending).status).toBe(200);
    session.close();
    await closing;
  });
});
