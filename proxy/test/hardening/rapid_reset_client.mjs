/**
 * The rapid-reset attacker, in a process of its own so that its work does not slow the proxy under
 * test: `node rapid_reset_client.mjs <port> <connections> <pairs>` opens <connections> h2c
 * connections to 127.0.0.1:<port> and writes <pairs> HEADERS + RST_STREAM(CANCEL) frames on each
 * (raw frames, 50 pairs per write, as fast as its loop turns), reading and dropping what comes back.
 * Prints one JSON line: per connection, the pairs written and whether the proxy closed it (within
 * 3 s of the last write).
 */
import net from "node:net";
// The frames come from lib/h2_frames.ts as built: the hardening tier builds dist/ before it runs.
import {
  getHeaderBlock,
  H2_PREFACE,
  headersFrame,
  rstStreamFrame,
  settingsFrame,
} from "../../../dist/lib/h2_frames.js";

const [port, connections, pairs] = process.argv.slice(2).map(Number);
/** GET /slow?delay=2000 with END_STREAM. */
const BLOCK = getHeaderBlock("/slow?delay=2000", "a");

async function attack() {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => socket.destroy());
  socket.resume();
  const closed = new Promise((resolve) => socket.once("close", () => resolve(true)));
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write(Buffer.concat([H2_PREFACE, settingsFrame([])]));
  let sent = 0;
  while (sent < pairs && !socket.destroyed) {
    const batch = [];
    for (let i = 0; i < 50 && sent < pairs; i++, sent++) {
      const id = 2 * sent + 1;
      batch.push(headersFrame(id, BLOCK), rstStreamFrame(id));
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
