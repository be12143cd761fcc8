/** The Node proxies people use instead: node-http-proxy and @fastify/http-proxy (dev dependencies). */
import { createRequire } from "node:module";
import { freePort } from "../../lib/net.js";
import { nodeSpec, startProcesses } from "./spawn.js";
import type { Target } from "./types.js";

const require = createRequire(import.meta.url);

function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

function nodePeer(name: string, script: string, pkg: string, description: string): Target {
  return {
    name,
    description,
    unavailable: () => (installed(pkg) ? null : `${pkg} not installed (npm install)`),
    start: async (ctx) => {
      const port = await freePort();
      const upstreams = ctx.backends.echo.map((p) => `127.0.0.1:${p}`).join(",");
      return startProcesses(
        ctx,
        [
          nodeSpec(
            ctx,
            `loadtest/peers/${script}`,
            ["--port", String(port), "--upstreams", upstreams],
            [port],
          ),
        ],
        `http://127.0.0.1:${port}`,
      );
    },
  };
}

export const nodeHttpProxy = nodePeer(
  "node-http-proxy",
  "node-http-proxy.js",
  "http-proxy",
  "http-proxy 1.18, 1 process, keep-alive agent (64), round robin",
);
export const fastifyHttpProxy = nodePeer(
  "fastify-http-proxy",
  "fastify-http-proxy.js",
  "@fastify/http-proxy",
  "@fastify/http-proxy (undici, 64 connections), 1 process, round robin",
);
