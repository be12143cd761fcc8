/**
 * @fastify/http-proxy as people run it in front of Node services: one process, undici pool (64 connections), round
 * robin through replyOptions.getUpstream. `node fastify-http-proxy.js --port N --upstreams h:p,h:p`
 */
import proxy from "@fastify/http-proxy";
import Fastify from "fastify";
import { exitOnSignal, peerArgs } from "./args.js";

const { port, upstreams } = peerArgs(process.argv.slice(2));
const targets = upstreams.map((u) => `http://${u}`);
let next = 0;
const app = Fastify({ logger: false, keepAliveTimeout: 60_000, bodyLimit: 64 * 1024 * 1024 });
await app.register(proxy, {
  upstream: "",
  undici: { connections: 64, pipelining: 1 },
  replyOptions: {
    getUpstream: () => {
      const t = targets[next] as string;
      next = (next + 1) % targets.length;
      return t;
    },
  },
});
await app.listen({ port, host: "127.0.0.1" });
exitOnSignal(() => void app.close());
