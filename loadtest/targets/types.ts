/** What a benchmark target is: something that serves HTTP on loopback, started once per bench run. */

/** Ports of the shared backends every proxy fronts (two echo services: HTTP/1.1 and h2c on one port). */
export interface Backends {
  echo: [number, number];
  echoPids: [number, number];
}

export interface TargetContext {
  /** Compiled project root (the folder holding echo/, proxy/, loadtest/). */
  dist: string;
  /** Scratch folder for generated configs and logs; removed at the end. */
  tmp: string;
  /** Cores for servers (taskset -c), undefined when not pinned. */
  cores: string | undefined;
  backends: Backends;
}

export interface RunningTarget {
  /** HTTP/1.1 base URL, e.g. http://127.0.0.1:1234 */
  url: string;
  /** h2c (prior knowledge) base URL when the target serves it. */
  h2cUrl?: string;
  /** Processes whose CPU and memory are the target's own (children are included automatically). */
  pids: number[];
  stop(): Promise<void>;
}

export interface Target {
  name: string;
  description: string;
  /** A reason the target cannot run here (a program or package not installed), or null. */
  unavailable(ctx: TargetContext): string | null;
  start(ctx: TargetContext): Promise<RunningTarget>;
}
