/**
 * The attacks' upstream: a tiny HTTP/1.1 server that counts what a proxy does to it. `GET /slow`
 * answers after `--slow-ms` (cancelled when the proxy closes the connection), anything else at once.
 * A connection whose first request is the probe's (`/probe`) was opened for the probe, not for the
 * attack, and is counted apart. The counts are read on a second port, so reading them opens no
 * connection on the measured one:
 *
 *   node dist/loadtest/attacks/upstream.js --port P --stats-port S --slow-ms 5000
 *   GET http://127.0.0.1:S/          {"accepts":N,"probeConnections":N,"acceptErrors":N,"requests":N,...}
 *   GET http://127.0.0.1:S/?reset=1  the same, then maxActive := active
 */
import http from "node:http";
import { parseArgs } from "node:util";
import { ignoreAcceptError } from "../../lib/errors.js";

export interface UpstreamStats {
  /** TCP connections accepted. */
  accepts: number;
  /** Of those, connections whose first request was the probe's `GET /probe`. */
  probeConnections: number;
  /** Accepts that failed (out of file descriptors). */
  acceptErrors: number;
  requests: number;
  /** Requests neither answered nor abandoned by the proxy now. */
  active: number;
  maxActive: number;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      "stats-port": { type: "string" },
      "slow-ms": { type: "string", default: "5000" },
    },
  });
  const slowMs = Number(values["slow-ms"]);
  const stats: UpstreamStats = {
    accepts: 0,
    probeConnections: 0,
    acceptErrors: 0,
    requests: 0,
    active: 0,
    maxActive: 0,
  };
  const used = new WeakSet<object>();
  const body = Buffer.from("ok\n");

  const server = http.createServer({ keepAliveTimeout: 120_000 }, (req, res) => {
    stats.requests++;
    if (!used.has(req.socket)) {
      used.add(req.socket);
      if (req.url?.startsWith("/probe") === true) stats.probeConnections++;
    }
    stats.active++;
    if (stats.active > stats.maxActive) stats.maxActive = stats.active;
    let timer: NodeJS.Timeout | undefined;
    // 'close' comes once: after the answer, or when the proxy gave up on the request
    res.on("close", () => {
      stats.active--;
      clearTimeout(timer);
    });
    req.resume();
    const answer = (): void => {
      res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
      res.end(body);
    };
    if (req.url?.startsWith("/slow") === true) timer = setTimeout(answer, slowMs);
    else answer();
  });
  server.headersTimeout = 120_000;
  server.requestTimeout = 0;
  server.on("connection", () => stats.accepts++);
  // after listen(), 'error' is a failed accept(2): counted, the server keeps listening
  server.on("error", (err) => {
    stats.acceptErrors++;
    ignoreAcceptError(err);
  });
  // a backlog as deep as the kernel allows (Node's default is 511): a proxy opening 1,024 connections
  // at once must not see SYNs dropped and time out its connects (the benchmark's connect_timeout is 0.25 s)
  server.listen(Number(values.port), "127.0.0.1", 65_535);

  const statsServer = http.createServer((req, res) => {
    const text = JSON.stringify(stats);
    if (req.url?.includes("reset=1") === true) stats.maxActive = stats.active;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(text);
  });
  statsServer.listen(Number(values["stats-port"]), "127.0.0.1");
  process.on("SIGTERM", () => process.exit(0));
}

if (process.argv[1] !== undefined && /upstream\.[jt]s$/.test(process.argv[1])) main();
