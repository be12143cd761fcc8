/**
 * The soak's mixed traffic, run in the load-generator process (./worker.ts): about `rate` operations a
 * second, picked in a fixed rotation of 20 slots:
 *
 *   get (6)       GET / on a keep-alive HTTP/1.1 pool (16 sockets)
 *   get-fresh (1) GET / on a fresh connection, closed after the answer
 *   post (4)      POST /echo with 4 KiB, the echo checked byte for byte, keep-alive
 *   h2c (4)       GET / on a shared h2c session (a new session every 500 streams)
 *   h2c-cancel(1) GET /?echo_delay=300ms on the h2c session, RST_STREAM(CANCEL) after 20 ms
 *   h1-abort (1)  GET /?echo_delay=300ms on a fresh connection, destroyed after 20 ms
 *   upstream-reset (1)  GET /?echo_reset=1: the echo resets, a 5xx is expected
 *   ws (2)        a WebSocket on /ws: 3 messages echoed, then closed (every 4th dropped without a close)
 *
 * Phases, each bounded by a MARK for the parent (which samples the processes): warm-up, then every
 * client connection closed and `settleS` of quiet (MARK baseline), the soak (MARK start ... MARK
 * stopped), and after it the same quiet (MARK end). In-flight operations are capped at 256; each fails after 10 s.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import http2 from "node:http2";
import WebSocket from "ws";
import { ignoreErrorHandledOnClose } from "../../lib/errors.js";
import { sleep } from "../../lib/wait.js";
import { mark } from "../load/protocol.js";

export interface SoakJob {
  port: number;
  rate: number;
  warmupS: number;
  durationS: number;
  settleS: number;
}

export type OpKind =
  | "get"
  | "get-fresh"
  | "post"
  | "h2c"
  | "h2c-cancel"
  | "h1-abort"
  | "upstream-reset"
  | "ws";

export interface OpTally {
  ok: number;
  failed: number;
  firstError: string | null;
}

export interface SoakTraffic {
  /** Operations of the soak phase (the warm-up is not counted). */
  ops: Record<OpKind, OpTally>;
  /** Operations not started because 256 were in flight. */
  skipped: number;
  seconds: number;
}

const ROTATION: OpKind[] = [
  "get",
  "post",
  "h2c",
  "get",
  "ws",
  "post",
  "h2c",
  "get",
  "h2c-cancel",
  "get-fresh",
  "get",
  "post",
  "h2c",
  "upstream-reset",
  "get",
  "ws",
  "post",
  "h2c",
  "get",
  "h1-abort",
];

const OP_TIMEOUT_MS = 10_000;
const MAX_IN_FLIGHT = 256;
const BODY = randomBytes(4096);

/** The client side of one phase: its pools, and the operations it runs. */
class Clients {
  private agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  private session: http2.ClientHttp2Session | null = null;
  private streams = 0;
  private wsCount = 0;

  constructor(private readonly port: number) {}

  run(kind: OpKind): Promise<void> {
    switch (kind) {
      case "get":
        return this.h1("GET", "/", this.agent).then(expectStatus(200));
      case "get-fresh":
        return this.h1("GET", "/", false).then(expectStatus(200));
      case "post":
        return this.h1("POST", "/echo", this.agent, BODY).then(([status, body]) => {
          if (status !== 200 || !body.equals(BODY))
            throw new Error(`POST /echo: ${status}, ${body.length} bytes`);
        });
      case "h2c":
        return this.h2("/", false).then((status) => expectStatus(200)([status, Buffer.alloc(0)]));
      case "h2c-cancel":
        return this.h2("/?echo_delay=300ms", true).then(() => undefined);
      case "h1-abort":
        return this.abortH1();
      case "upstream-reset":
        return this.h1("GET", "/?echo_reset=1", this.agent).then(([status]) => {
          if (status < 500) throw new Error(`echo_reset answered ${status}`);
        });
      case "ws":
        return this.ws(++this.wsCount % 4 === 0);
    }
  }

  private h1(
    method: string,
    path: string,
    agent: http.Agent | false,
    body?: Buffer,
  ): Promise<[number, Buffer]> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: "127.0.0.1", port: this.port, method, path, agent, timeout: OP_TIMEOUT_MS },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve([res.statusCode ?? 0, Buffer.concat(chunks)]));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timeout`)));
      req.on("error", reject);
      req.end(body);
    });
  }

  private abortH1(): Promise<void> {
    return new Promise((resolve) => {
      const req = http.request({
        host: "127.0.0.1",
        port: this.port,
        path: "/?echo_delay=300ms",
        agent: false,
      });
      req.on("error", () => resolve()); // the abort below: expected
      req.on("response", (res) => {
        res.resume();
        resolve();
      });
      req.end();
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 20);
    });
  }

  private h2Session(): http2.ClientHttp2Session {
    if (this.session === null || this.session.closed || this.session.destroyed || this.streams >= 500) {
      this.session?.close();
      const s = http2.connect(`http://127.0.0.1:${this.port}`);
      s.on("error", ignoreErrorHandledOnClose); // its streams fail with it: their operations count it
      this.session = s;
      this.streams = 0;
    }
    this.streams++;
    return this.session;
  }

  private h2(path: string, cancel: boolean): Promise<number> {
    return new Promise((resolve, reject) => {
      const stream = this.h2Session().request({ ":path": path });
      let status = 0;
      stream.setTimeout(OP_TIMEOUT_MS, () => stream.close(http2.constants.NGHTTP2_CANCEL));
      stream.on("response", (h) => {
        status = Number(h[":status"]);
      });
      stream.resume();
      stream.on("error", (err) => (cancel ? resolve(0) : reject(err)));
      stream.on("close", () =>
        cancel || status !== 0
          ? resolve(status)
          : reject(new Error(`h2c ${path}: closed without a response`)),
      );
      if (cancel) setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), 20);
    });
  }

  private ws(drop: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${this.port}/ws`, {
        perMessageDeflate: false,
        handshakeTimeout: OP_TIMEOUT_MS,
      });
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error("ws: timeout"));
      }, OP_TIMEOUT_MS);
      let echoed = 0;
      const next = (): void => ws.send(`soak message ${echoed}`);
      ws.on("open", next);
      ws.on("message", (data: Buffer) => {
        if (data.toString() !== `soak message ${echoed}`) {
          ws.terminate();
          return reject(new Error(`ws: bad echo ${data.toString().slice(0, 40)}`));
        }
        if (++echoed < 3) return next();
        clearTimeout(timer);
        if (drop) {
          ws.terminate();
          return resolve();
        }
        ws.close(1000);
      });
      ws.on("close", () => {
        clearTimeout(timer);
        if (echoed >= 3) resolve();
        else reject(new Error(`ws: closed after ${echoed} echoes`));
      });
      ws.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Closes every client connection (the pools' idle sockets, the h2c session). */
  close(): void {
    this.agent.destroy();
    this.session?.close();
    this.session = null;
  }
}

function expectStatus(want: number): (r: [number, Buffer]) => void {
  return ([status]) => {
    if (status !== want) throw new Error(`status ${status}`);
  };
}

function emptyOps(): Record<OpKind, OpTally> {
  const ops = {} as Record<OpKind, OpTally>;
  for (const k of new Set(ROTATION)) ops[k] = { ok: 0, failed: 0, firstError: null };
  return ops;
}

/** Runs the rotation at `rate` ops/s for `seconds`, then waits (at most 15 s) for what is in flight. */
async function phase(
  clients: Clients,
  rate: number,
  seconds: number,
  ops: Record<OpKind, OpTally>,
): Promise<number> {
  let inFlight = 0;
  let skipped = 0;
  let slot = 0;
  let due = 0;
  const tickMs = 50;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    due += (rate * tickMs) / 1000;
    for (; due >= 1; due--) {
      const kind = ROTATION[slot++ % ROTATION.length] as OpKind;
      if (inFlight >= MAX_IN_FLIGHT) {
        skipped++;
        continue;
      }
      inFlight++;
      const tally = ops[kind];
      clients.run(kind).then(
        () => {
          tally.ok++;
          inFlight--;
        },
        (err: unknown) => {
          tally.failed++;
          tally.firstError ??= err instanceof Error ? err.message : String(err);
          inFlight--;
        },
      );
    }
    await sleep(tickMs);
  }
  const deadline = Date.now() + 15_000;
  while (inFlight > 0 && Date.now() < deadline) await sleep(50);
  return skipped;
}

export async function runSoakTraffic(job: SoakJob): Promise<SoakTraffic> {
  const warm = new Clients(job.port);
  await phase(warm, job.rate, job.warmupS, emptyOps());
  warm.close();
  await sleep(job.settleS * 1000);
  await mark("baseline");

  const clients = new Clients(job.port);
  const ops = emptyOps();
  await mark("start");
  const started = Date.now();
  const skipped = await phase(clients, job.rate, job.durationS, ops);
  const seconds = (Date.now() - started) / 1000;
  await mark("stopped");
  clients.close();
  await sleep(job.settleS * 1000);
  await mark("end");
  return { ops, skipped, seconds };
}
