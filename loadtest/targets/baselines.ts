/** Baselines: the echo service hit directly, and a minimal node:http server. */
import { freePort } from "../../lib/net.js";
import { nodeSpec, startProcesses } from "./spawn.js";
import type { Target } from "./types.js";

/** Direct to echo 1 (the shared backend itself; no process of its own to start or stop). */
export const direct: Target = {
  name: "direct",
  description: "no proxy: straight to echo 1 (HTTP/1.1 and h2c on one port)",
  unavailable: () => null,
  start: async (ctx) => {
    const port = ctx.backends.echo[0];
    return {
      url: `http://127.0.0.1:${port}`,
      h2cUrl: `http://127.0.0.1:${port}`,
      pids: [ctx.backends.echoPids[0]],
      stop: async () => {},
    };
  },
};

export const minimal: Target = {
  name: "minimal",
  description: "minimal node:http server answering a fixed string (the floor for the echo service)",
  unavailable: () => null,
  start: async (ctx) => {
    const port = await freePort();
    return startProcesses(
      ctx,
      [nodeSpec(ctx, "loadtest/peers/minimal-server.js", ["--port", String(port)], [port])],
      `http://127.0.0.1:${port}`,
    );
  },
};
