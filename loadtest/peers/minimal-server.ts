/**
 * The floor for the echo benchmark: a minimal node:http server answering a fixed string to every
 * request (keep-alive, no routing, no headers read). `node minimal-server.js --port N`
 */
import { createServer } from "node:http";
import { exitOnSignal, peerArgs } from "./args.js";

const BODY = "Hello from a minimal node:http server\n";
const { port } = peerArgs(process.argv.slice(2));
const server = createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(BODY) });
  res.end(BODY);
});
server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1");
exitOnSignal(() => server.close());
