/**
 * The line protocol between the bench and its load generator, a long-lived child process pinned to its
 * own core (load/worker.ts; one process for the whole bench, so no per-run start-up cost):
 *   parent -> child  `JOB <json>`    run one measurement
 *   child -> parent  `MARK <name>`   the parent samples /proc, then answers `ACK`
 *   child -> parent  `RESULT <json>` or `FAIL <message>`
 * Marks `start` and `end` bound the measured window; ws capacity uses `held`.
 */
import type { ChildProcess } from "node:child_process";
import { createInterface, type Interface } from "node:readline";
import { stopChild } from "../../lib/process.js";
import { spawnPinned, stderrTail } from "../proc.js";

// ---- child side ----

let ackWaiter: (() => void) | null = null;

/** Child side: announce a mark and wait for the parent's ACK. */
export function mark(name: string): Promise<void> {
  return new Promise((resolve) => {
    ackWaiter = resolve;
    process.stdout.write(`MARK ${name}\n`);
  });
}

/** Child side: run jobs from stdin one at a time until stdin closes. */
export function serve(run: (job: unknown) => Promise<unknown>): void {
  const lines = createInterface({ input: process.stdin });
  let chain = Promise.resolve();
  lines.on("line", (line) => {
    if (line === "ACK") {
      const w = ackWaiter;
      ackWaiter = null;
      w?.();
    } else if (line.startsWith("JOB ")) {
      const job = JSON.parse(line.slice(4)) as unknown;
      chain = chain.then(async () => {
        try {
          process.stdout.write(`RESULT ${JSON.stringify(await run(job))}\n`);
        } catch (err) {
          process.stdout.write(
            `FAIL ${(err instanceof Error ? err.message : String(err)).replace(/\n/g, " ")}\n`,
          );
        }
      });
    }
  });
  lines.on("close", () => void chain.then(() => process.exit(0)));
}

// ---- parent side ----

interface Pending {
  onMark: (name: string) => void;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/** Parent side: the load-generator process. Restarted on the next job if it dies. */
export class LoadWorker {
  private child: ChildProcess | null = null;
  private lines: Interface | null = null;
  private pending: Pending | null = null;

  constructor(
    private readonly script: string,
    private readonly cores: string | undefined,
  ) {}

  private ensure(): ChildProcess {
    if (this.child !== null && this.child.exitCode === null && this.child.signalCode === null)
      return this.child;
    const child = spawnPinned(process.execPath, [this.script], {
      cores: this.cores,
      pipeStdout: true,
      pipeStdin: true,
    });
    child.stdin?.on("error", () => {
      // reported through exit
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      const p = this.pending;
      if (p === null) return;
      if (line.startsWith("MARK ")) {
        p.onMark(line.slice(5));
        child.stdin?.write("ACK\n");
      } else if (line.startsWith("RESULT ")) {
        this.pending = null;
        p.resolve(JSON.parse(line.slice(7)));
      } else if (line.startsWith("FAIL ")) {
        this.pending = null;
        p.reject(new Error(line.slice(5)));
      }
    });
    child.once("exit", (code) => {
      const p = this.pending;
      this.pending = null;
      p?.reject(new Error(`load generator exited (code ${code}): ${stderrTail(child).slice(-500)}`));
    });
    this.child = child;
    this.lines = lines;
    return child;
  }

  /** Runs one job; kills the worker if it takes longer than timeoutMs. */
  run<T>(job: unknown, onMark: (name: string) => void, timeoutMs: number): Promise<T> {
    const child = this.ensure();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        void stopChild(child, 1000);
      }, timeoutMs);
      this.pending = {
        onMark,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      child.stdin?.write(`JOB ${JSON.stringify(job)}\n`);
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    this.lines?.close();
    if (child === null) return;
    child.stdin?.end();
    await stopChild(child, 3000);
  }
}
