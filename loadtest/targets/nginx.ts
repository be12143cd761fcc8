/** nginx (1 worker, keepalive 64) when installed: HTTP/1.1 listener and an h2c listener. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../lib/net.js";
import { notInstalled, which } from "../proc.js";
import { startProcesses } from "./spawn.js";
import { benchConfig, LOOPBACK, singleHop } from "./topology.js";
import type { Target } from "./types.js";

export const nginx: Target = {
  name: "nginx",
  description: "nginx 1 worker, upstream keepalive 64: h1 (or h2c on its own port) in, HTTP/1.1 out",
  unavailable: () => notInstalled("nginx"),
  start: async (ctx) => {
    const port = await freePort();
    const h2cPort = await freePort();
    const dir = join(ctx.tmp, "nginx");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "nginx.conf");
    const spec = singleHop(port, ctx.backends.echo, "http1");
    writeFileSync(file, benchConfig(spec, "nginx", dir, { h2cListen: { host: LOOPBACK, port: h2cPort } }));
    return startProcesses(
      ctx,
      [{ file: which("nginx") as string, args: ["-p", dir, "-c", file], ports: [port, h2cPort] }],
      `http://127.0.0.1:${port}`,
      { h2cUrl: `http://127.0.0.1:${h2cPort}` },
    );
  },
};
