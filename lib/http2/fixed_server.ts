/**
 * A tiny h2c server on our HTTP/2 layer that answers every request with a fixed 200 once the request
 * has ended: the target of h2spec (scripts/h2spec.sh) and of the micro-benchmark. Lives here rather than
 * under lib/test/ because the build compiles no test folder and the script runs it from dist/.
 *
 *   node dist/lib/http2/fixed_server.js [port]   prints "listening <port>" once bound
 */
import type { Server } from "node:net";
import { pathToFileURL } from "node:url";
import type { Http2Options } from "./connection.js";
import { createH2cServer } from "./server.js";

/** The response body: h2spec's flow-control tests need at least 5 octets of DATA. */
export const FIXED_BODY = Buffer.from("hello from echomesh h2\n");
const HEAD = [":status", "200", "content-type", "text/plain", "content-length", String(FIXED_BODY.length)];

export function fixedServer(options: Http2Options = {}): Server {
  return createH2cServer((stream) => {
    stream.onEnd = () => {
      stream.respond(HEAD);
      stream.write(FIXED_BODY, true);
    };
  }, options);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.argv[2] ?? 0);
  // h2spec reads SETTINGS_MAX_CONCURRENT_STREAMS to test the limit (5.1.2): a small one keeps it quick.
  const server = fixedServer({ maxConcurrentStreams: 100 });
  server.listen(port, "127.0.0.1", () => {
    const address = server.address();
    process.stdout.write(
      `listening ${typeof address === "object" && address !== null ? address.port : port}\n`,
    );
  });
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}
