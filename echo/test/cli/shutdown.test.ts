/** The built echo CLI (`dist/echo/main.js`) as a child process: signals, access log, idle memory, bad flags. */
import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { accepts } from "../../../lib/net.js";
import { sleep } from "../../../lib/wait.js";
import { request } from "../../../test-support/http.js";
import { ECHO_MAIN } from "../../../test-support/paths.js";
import { type Running, runToEnd, startProcess, stopChild } from "../../../test-support/process.js";

const started: Running[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((run) => stopChild(run.child)));
});

/** Starts the CLI with `args` on 127.0.0.1, port 0, and waits for the port in its "listening" line. */
async function runEcho(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ run: Running; port: number }> {
  const run = startProcess(ECHO_MAIN, [...args, "--port", "0", "--host", "127.0.0.1"], env);
  started.push(run);
  const [, port] = await run.waitFor(/"url":"http:\/\/127\.0\.0\.1:(\d+)"/);
  return { run, port: Number(port) };
}

describe("the CLI as a child process", () => {
  it("on SIGTERM finishes the in-flight request, exits 0 within the drain timeout, then refuses connections", async () => {
    const { run, port } = await runEcho(["echo", "--drain-timeout", "3s", "--instance", "child-1"]);
    const inFlight = request(port, "/?echo_delay=700ms");
    await sleep(150);
    const t0 = performance.now();
    run.child.kill("SIGTERM");
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(r.headers["x-echo-instance"]).toBe("child-1");
    const exit = await run.exited;
    expect(exit.code).toBe(0);
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(await accepts(port)).toBe(false);
    expect(run.output()).toContain('"msg":"request"'); // access log on by default
  });

  it("logs nothing per request with --no-access-log (or ACCESS_LOG=off), and stays small when idle", async () => {
    for (const [args, env] of [
      [["--no-access-log"], {}],
      [[], { ACCESS_LOG: "off" }],
    ] as const) {
      const { run, port } = await runEcho([...args], { ...env });
      await request(port, "/");
      await request(port, "/nope");
      await sleep(300);
      const rss = Number(
        /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${run.child.pid}/status`, "utf8"))?.[1],
      );
      expect(rss).toBeGreaterThan(0);
      expect(rss).toBeLessThan(80 * 1024); // idle RSS under 80 MB
      run.child.kill("SIGINT");
      expect((await run.exited).code).toBe(0);
      expect(run.output()).not.toContain('"msg":"request"');
      expect(run.output()).toContain("echo service listening");
    }
  });

  it("rejects a bad flag with exit code 2", async () => {
    const r = await runToEnd(ECHO_MAIN, ["--max-body", "lots"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/max-body/);
  });
});
