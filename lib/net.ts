/** Loopback port helpers shared by the conformance drivers, the benchmarks and the tests. */
import type { ChildProcess } from "node:child_process";
import { connect, createServer } from "node:net";
import { sleep } from "./wait.js";

/** A free TCP port on `host` (bind to 0, read it, close; the window for a race is tiny). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === "object" && addr !== null ? resolve(addr.port) : reject(new Error("no port")),
      );
    });
  });
}

/** Resolves true when `host:port` accepts a TCP connection now, false when it refuses. */
export function accepts(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = connect(port, host);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => {
      s.destroy();
      resolve(false);
    });
  });
}

export interface WaitForPortOptions {
  host?: string;
  timeoutMs?: number;
  /** Give up early (with its exit code) when this child exits before the port opens. */
  child?: ChildProcess;
  /** Text for the error when `child` exits (e.g. the tail of its stderr). */
  describeExit?: () => string;
}

/** Resolves when `host:port` accepts a connection; rejects after `timeoutMs` or when `child` exits. */
export async function waitForPort(port: number, opts: WaitForPortOptions = {}): Promise<void> {
  const { host = "127.0.0.1", timeoutMs = 15_000, child } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child !== undefined && child.exitCode !== null) {
      throw new Error(
        `exited with code ${child.exitCode} before listening on ${port}: ${opts.describeExit?.() ?? ""}`,
      );
    }
    if (await accepts(port, host)) return;
    if (Date.now() > deadline) throw new Error(`nothing listened on ${host}:${port} within ${timeoutMs} ms`);
    await sleep(100);
  }
}
