// The node:http2 twin of dist/lib/http2/fixed_server.js for microbench.sh: same fixed 200, same body,
// answered on the 'stream' event once the request has ended.
import http2 from "node:http2";

const body = Buffer.from("hello from echomesh h2\n");
const server = http2.createServer({
  settings: { maxConcurrentStreams: 100, initialWindowSize: 16 * 1024 * 1024 },
});
server.on("stream", (stream) => {
  stream.on("data", () => {});
  stream.on("end", () => {
    if (stream.destroyed || stream.closed) return;
    stream.respond({ ":status": 200, "content-type": "text/plain", "content-length": body.length });
    stream.end(body);
  });
  stream.on("error", () => {});
});
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
