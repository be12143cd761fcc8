// Client-role micro-benchmark for microbench.sh: N GETs over C connections with M streams in flight
// each, against the server on PORT, with our client (dist/lib/http2) or node:http2's; prints the CPU
// per request of this process (process.cpuUsage, after a warm-up).
//   node lib/test/http2/client_bench.mjs ours|node PORT [N=200000] [C=50] [M=10]
import http2 from "node:http2";
import net from "node:net";
import { Http2Connection } from "../../../dist/lib/http2/connection.js";

const [which, portArg, nArg, cArg, mArg] = process.argv.slice(2);
const port = Number(portArg);
const N = Number(nArg ?? 200000);
const C = Number(cArg ?? 50);
const M = Number(mArg ?? 10);
const FIELDS = [":method", "GET", ":scheme", "http", ":path", "/", ":authority", `127.0.0.1:${port}`];

async function ourConnection() {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise((r) => socket.once("connect", r));
  const c = new Http2Connection(socket, "client");
  return (done) => {
    const s = c.request(FIELDS, true);
    s.onData = () => {};
    s.onEnd = done;
    s.onReset = done;
  };
}

async function nodeConnection() {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  await new Promise((r) => session.once("connect", r));
  return (done) => {
    const s = session.request({ ":path": "/" });
    s.on("data", () => {});
    s.on("close", done);
  };
}

async function run(n) {
  const conns = await Promise.all(
    Array.from({ length: C }, () => (which === "ours" ? ourConnection() : nodeConnection())),
  );
  let started = 0;
  let finished = 0;
  await new Promise((resolve) => {
    const next = (send) => {
      if (started >= n) return;
      started++;
      send(() => {
        finished++;
        if (finished === n) resolve();
        else next(send);
      });
    };
    for (const send of conns) for (let i = 0; i < M; i++) next(send);
  });
}

await run(20000);
const t0 = process.cpuUsage();
const w0 = performance.now();
await run(N);
const cpu = process.cpuUsage(t0);
const wall = performance.now() - w0;
console.log(
  `${which.padEnd(10)} client: ${((cpu.user + cpu.system) / N).toFixed(1)} us CPU/req  ${Math.round((N / wall) * 1000)} req/s`,
);
process.exit(0);
