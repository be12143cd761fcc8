// A minimal h2c -> h2c forwarder for microbench.sh: what a proxy's HTTP/2 hop costs in the HTTP/2
// layer alone (no routing, no filters, no stats). Every downstream stream becomes a stream on one of
// 4 upstream connections; heads, bodies and ends are relayed as they come.
//   node lib/test/http2/forwarder.mjs ours|node UPSTREAM_PORT LISTEN_PORT   prints "listening <port>"
import http2 from "node:http2";
import net from "node:net";
import { Http2Connection } from "../../../dist/lib/http2/connection.js";
import { createH2cServer } from "../../../dist/lib/http2/server.js";

const [which, upArg, listenArg] = process.argv.slice(2);
const upstreamPort = Number(upArg);
const UPSTREAMS = 4;
let next = 0;

function listening(server) {
  server.listen(Number(listenArg), "127.0.0.1", () =>
    process.stdout.write(`listening ${server.address().port}\n`),
  );
}

if (which === "ours") {
  const pool = [];
  for (let i = 0; i < UPSTREAMS; i++) {
    const socket = net.connect(upstreamPort, "127.0.0.1");
    pool.push(new Http2Connection(socket, "client"));
  }
  listening(
    createH2cServer((down, fields, endStream) => {
      const up = pool[next++ % UPSTREAMS].request(fields, endStream);
      down.onData = (c) => up.write(Buffer.from(c));
      down.onEnd = () => {
        if (!endStream) up.end();
      };
      down.onReset = (code) => up.reset(code);
      up.onHeaders = (h, end) => down.respond(h, end);
      up.onData = (c) => down.write(Buffer.from(c));
      up.onTrailers = (t) => down.end(t);
      up.onEnd = () => down.end();
      up.onReset = (code) => down.reset(code);
    }),
  );
} else {
  const pool = [];
  for (let i = 0; i < UPSTREAMS; i++) pool.push(http2.connect(`http://127.0.0.1:${upstreamPort}`));
  const server = http2.createServer();
  server.on("stream", (down, headers) => {
    down.on("error", () => {});
    const up = pool[next++ % UPSTREAMS].request(headers, { endStream: down.readableEnded });
    up.on("error", () => {});
    up.on("response", (h) => {
      if (!down.destroyed) down.respond(h);
    });
    up.pipe(down);
    down.pipe(up);
  });
  listening(server);
}
process.on("SIGTERM", () => process.exit(0));
