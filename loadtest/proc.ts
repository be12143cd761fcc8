/**
 * Processes the benchmark starts: spawn (optionally pinned with taskset), find installed programs, and
 * read CPU time and memory of a process tree from /proc. Ports, waiting and stopping: lib/.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second for /proc/<pid>/stat times (USER_HZ; 100 on every Linux we run on). */
const CLK_TCK = Number(process.env.CLK_TCK ?? 100);

let tasksetPath: string | null | undefined;

/** The `taskset` binary when installed and the machine has more than one core, else null. */
export function taskset(): string | null {
  if (tasksetPath !== undefined) return tasksetPath;
  tasksetPath = null;
  try {
    const path = execFileSync("sh", ["-c", "command -v taskset"], { encoding: "utf8" }).trim();
    if (path !== "" && cpuCount() > 1) tasksetPath = path;
  } catch {
    // not installed
  }
  return tasksetPath;
}

export function cpuCount(): number {
  try {
    return Number(execFileSync("nproc", { encoding: "utf8" }).trim()) || 1;
  } catch {
    return 1;
  }
}

/** Which cores the load generator and the servers get. null = not pinned. */
export interface Pinning {
  load: string;
  servers: string;
}

/** Load generator on the last core, every server on the others (the machine may have only 2). */
export function defaultPinning(enabled: boolean): Pinning | null {
  if (!enabled || taskset() === null) return null;
  const n = cpuCount();
  return { load: String(n - 1), servers: n === 2 ? "0" : `0-${n - 2}` };
}

export interface SpawnOptions {
  cores?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Keep stdout (for line protocols); otherwise it is ignored. */
  pipeStdout?: boolean;
  /** Give the child a stdin pipe. */
  pipeStdin?: boolean;
}

/** Spawns `file args`, under `taskset -c cores` when asked (taskset execs, so the pid is the program's). */
export function spawnPinned(file: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const ts = opts.cores !== undefined ? taskset() : null;
  const [cmd, argv] = ts !== null ? [ts, ["-c", opts.cores as string, file, ...args]] : [file, args];
  const child = spawn(cmd, argv, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: [opts.pipeStdin ? "pipe" : "ignore", opts.pipeStdout ? "pipe" : "ignore", "pipe"],
  });
  // Keep the last bit of stderr for error messages; never let an unread pipe block the child.
  let tail = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (d: string) => {
    tail = (tail + d).slice(-4000);
  });
  Object.defineProperty(child, "stderrTail", { get: () => tail });
  child.on("error", () => {
    // reported by the caller through exit / waitForPort
  });
  return child;
}

export function stderrTail(child: ChildProcess): string {
  return (child as ChildProcess & { stderrTail?: string }).stderrTail ?? "";
}

interface Stat {
  ppid: number;
  /** utime + stime + cutime + cstime in ticks: own threads plus reaped children. */
  ticks: number;
}

function readStat(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may hold spaces and parentheses: fields start after the last ')'
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // fields[0] = state (field 3); utime = field 14 -> index 11
    const n = (i: number) => Number(fields[i] ?? 0);
    return { ppid: n(1), ticks: n(11) + n(12) + n(13) + n(14) };
  } catch {
    return null;
  }
}

/** The pids of `roots` and all their live descendants. */
export function processTree(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const st = readStat(pid);
    if (st === null) continue;
    const list = children.get(st.ppid);
    if (list === undefined) children.set(st.ppid, [pid]);
    else list.push(pid);
  }
  const out: number[] = [];
  const todo = [...roots];
  while (todo.length > 0) {
    const pid = todo.pop() as number;
    if (out.includes(pid)) continue;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * CPU time in microseconds used so far by `roots` and their descendants (utime+stime, all threads,
 * plus cutime+cstime of children already reaped). Take the difference of two readings.
 */
export function treeCpuUs(roots: readonly number[]): number {
  let ticks = 0;
  for (const pid of processTree(roots)) ticks += readStat(pid)?.ticks ?? 0;
  return (ticks * 1e6) / CLK_TCK;
}

/** CPU time in µs the whole machine has spent busy (all cores; /proc/stat minus idle and iowait). */
export function machineBusyUs(): number {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user .. steal
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return ((total - idle) * 1e6) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** Resident memory (VmRSS) of `roots` and their descendants, in MiB. */
export function treeRssMb(roots: readonly number[]): number {
  let kb = 0;
  for (const pid of processTree(roots)) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      kb += Number(m?.[1] ?? 0);
    } catch {
      // exited
    }
  }
  return kb / 1024;
}

/** Open file descriptors of `roots` and their descendants. */
export function treeFds(roots: readonly number[]): number {
  let n = 0;
  for (const pid of processTree(roots)) {
    try {
      n += readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      // exited or not ours
    }
  }
  return n;
}

/** A target's `unavailable` for a program that must be installed: "NAME not installed" or null. */
export function notInstalled(name: string): string | null {
  return which(name) === null ? `${name} not installed` : null;
}

/** Whether an executable is on PATH (`command -v`). */
export function which(name: string): string | null {
  try {
    const out = execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
    return out === "" ? null : out;
  } catch {
    return null;
  }
}
