/** Starting a target's processes and waiting until they listen. */
import type { ChildProcess } from "node:child_process";
import { waitForPort } from "../../lib/net.js";
import { stopChild } from "../../lib/process.js";
import { spawnPinned, stderrTail } from "../proc.js";
import type { RunningTarget, TargetContext } from "./types.js";

export interface ProcessSpec {
  file: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Ports the process must listen on before it counts as started. */
  ports: number[];
}

/** Starts every process (pinned to the server cores), waits for their ports; stops all on failure. */
export async function startProcesses(
  ctx: TargetContext,
  specs: ProcessSpec[],
  url: string,
  extra: Partial<RunningTarget> = {},
): Promise<RunningTarget> {
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((c) => stopChild(c)));
  };
  try {
    for (const spec of specs) {
      const child = spawnPinned(spec.file, spec.args, {
        cores: ctx.cores,
        env: { ...process.env, ...spec.env },
        cwd: ctx.tmp,
      });
      children.push(child);
      for (const port of spec.ports)
        await waitForPort(port, { timeoutMs: 20_000, child, describeExit: () => stderrTail(child) });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const pids = children.map((c) => c.pid).filter((p): p is number => p !== undefined);
  return { url, pids, stop, ...extra };
}

/** `node <dist>/<rel>` as a ProcessSpec. */
export function nodeSpec(ctx: TargetContext, rel: string, args: string[], ports: number[]): ProcessSpec {
  return { file: process.execPath, args: [`${ctx.dist}/${rel}`, ...args], ports };
}
