/** The two echo backends every proxy target fronts (bench and soak): HTTP/1.1 and h2c on one port each. */
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { freePort, waitForPort } from "../lib/net.js";
import { spawnPinned, stderrTail } from "./proc.js";
import type { Backends } from "./targets/types.js";

/** Starts echo1 and echo2 from `dist` (pinned to `cores`), pushing them onto `children` for the caller to stop. */
export async function startBackends(
  dist: string,
  cores: string | undefined,
  children: ChildProcess[],
): Promise<Backends> {
  const main = join(dist, "echo/main.js");
  const ports: number[] = [];
  for (const instance of ["echo1", "echo2"]) {
    const port = await freePort();
    const child = spawnPinned(
      process.execPath,
      [main, "--port", String(port), "--host", "127.0.0.1", "--no-access-log"],
      {
        cores,
        env: { ...process.env, INSTANCE: instance, ACCESS_LOG: "off" },
      },
    );
    children.push(child);
    await waitForPort(port, { timeoutMs: 20_000, child, describeExit: () => stderrTail(child) });
    ports.push(port);
  }
  return {
    echo: [ports[0] as number, ports[1] as number],
    echoPids: [children[0]?.pid as number, children[1]?.pid as number],
  };
}
