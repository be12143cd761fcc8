/**
 * node-http-proxy as people run it in front of Node services: one process, keep-alive agent (64 sockets), round
 * robin in the request handler. `node node-http-proxy.js --port N --upstreams h:p,h:p`
 */
import { Agent, createServer } from "node:http";
import httpProxy from "http-proxy";
import { exitOnSignal, peerArgs } from "./args.js";

const { port, upstreams } = peerArgs(process.argv.slice(2));
const agent = new Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 });
const proxy = httpProxy.createProxyServer({ agent, ws: true });
proxy.on("error", (_err, _req, res) => {
  if ("writeHead" in res && !res.headersSent) res.writeHead(502);
  res.end();
});
const targets = upstreams.map((u) => `http://${u}`);
let next = 0;
const pick = (): string => {
  const t = targets[next] as string;
  next = (next + 1) % targets.length;
  return t;
};
const server = createServer((req, res) => proxy.web(req, res, { target: pick() }));
server.on("upgrade", (req, socket, head) => proxy.ws(req, socket, head, { target: pick() }));
server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1");
exitOnSignal(() => server.close());
