/**
 * Buffered, asynchronous access log files, shared by path (like Envoy's AccessLogManager).
 *
 * Lines are appended to an in-memory buffer and written in one `write()` when the buffer passes
 * 64 KiB or every `flushIntervalMs` (Envoy's `file_flush_interval_msec`, default 1000), so a request
 * never waits on I/O. `/dev/stdout` and `/dev/stderr` use the process streams; `/dev/null` discards.
 * If the stream falls behind by more than `maxPendingBytes`, new lines are dropped and counted.
 */
import { createWriteStream } from "node:fs";
import type { Writable } from "node:stream";

export interface AccessLogSink {
  readonly path: string;
  write(line: string): void;
}

export interface WriterOptions {
  flushIntervalMs?: number;
  flushBytes?: number;
  maxPendingBytes?: number;
  /** Where write errors are reported (once per file). Default: stderr. */
  onError?: (path: string, err: Error) => void;
}

const NULL_SINK: AccessLogSink = { path: "/dev/null", write() {} };

export class AccessLogWriter implements AccessLogSink {
  private buffer = "";
  private timer: NodeJS.Timeout | null = null;
  private failed = false;
  private closed = false;
  /** Lines dropped because the stream could not keep up or failed. */
  dropped = 0;
  private readonly stream: Writable;
  private readonly ownsStream: boolean;
  private readonly flushIntervalMs: number;
  private readonly flushBytes: number;
  private readonly maxPendingBytes: number;

  constructor(
    readonly path: string,
    private readonly options: WriterOptions = {},
  ) {
    this.flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.flushBytes = options.flushBytes ?? 64 * 1024;
    this.maxPendingBytes = options.maxPendingBytes ?? 64 * 1024 * 1024;
    if (path === "/dev/stdout" || path === "/dev/stderr") {
      this.stream = path === "/dev/stdout" ? process.stdout : process.stderr;
      this.ownsStream = false;
    } else {
      this.stream = createWriteStream(path, { flags: "a" });
      this.ownsStream = true;
    }
    this.stream.on("error", (err: Error) => this.fail(err));
  }

  write(line: string): void {
    if (this.failed || this.closed) {
      this.dropped++;
      return;
    }
    if (this.stream.writableLength > this.maxPendingBytes) {
      this.dropped++;
      return;
    }
    this.buffer += line;
    if (this.buffer.length >= this.flushBytes) this.flush();
    else if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), this.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Hands the buffered lines to the stream now. */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.buffer === "" || this.failed) return;
    const chunk = this.buffer;
    this.buffer = "";
    this.stream.write(chunk);
  }

  /** Flushes, then closes the file (the process streams stay open). */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.flush();
    this.closed = true;
    if (this.failed) return Promise.resolve();
    return new Promise((resolve) => {
      if (this.ownsStream) {
        this.stream.end(() => resolve());
        this.stream.once("error", () => resolve());
      } else if (this.stream.writableLength === 0) {
        resolve();
      } else {
        this.stream.once("drain", () => resolve());
        this.stream.once("error", () => resolve());
      }
    });
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.buffer = "";
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const report =
      this.options.onError ??
      ((path: string, e: Error) =>
        process.stderr.write(`access log ${path}: ${e.message}; logging stopped\n`));
    report(this.path, err);
  }
}

/** One writer per path, shared by every access log that names it. */
export class AccessLogManager {
  private readonly writers = new Map<string, AccessLogWriter>();

  constructor(private readonly options: WriterOptions = {}) {}

  open(path: string): AccessLogSink {
    if (path === "/dev/null") return NULL_SINK;
    let w = this.writers.get(path);
    if (w === undefined) {
      w = new AccessLogWriter(path, this.options);
      this.writers.set(path, w);
    }
    return w;
  }

  flushAll(): void {
    for (const w of this.writers.values()) w.flush();
  }

  async closeAll(): Promise<void> {
    const all = [...this.writers.values()];
    this.writers.clear();
    await Promise.all(all.map((w) => w.close()));
  }
}
