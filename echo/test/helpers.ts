/** Echo-specific test helpers; the clients (HTTP/1.1, h2c, raw TCP, WebSocket) are in test-support/. */
import { Writable } from "node:stream";
import { type EchoOptions, type EchoServer, startEcho } from "../server.js";

/** An echo on 127.0.0.1, ephemeral port, no access log, no process metrics. */
export function start(options: EchoOptions = {}): Promise<EchoServer> {
  return startEcho({
    host: "127.0.0.1",
    port: 0,
    instance: "test-echo",
    accessLog: false,
    defaultMetrics: false,
    ...options,
  });
}

/** Collects log lines written by the echo's logger. */
export class LogSink extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    for (const line of chunk.toString("utf8").split("\n")) if (line !== "") this.lines.push(line);
    cb();
  }
}
