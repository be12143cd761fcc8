/** One measured run, as written to latest.json. null = not measurable for this kind of run. */
export interface RunRecord {
  scenario: string;
  target: string;
  round: number;
  requestsPerSec: number | null;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  latencyMaxMs: number | null;
  /** Requests (or WebSocket round trips / live sockets) completed in the measured window. */
  requests: number;
  /** Socket errors + timeouts + non-2xx responses (ws: failed opens, bad echoes, unexpected closes). */
  errors: number;
  non2xx: number;
  /** Responses by status code, when the load tool reports them. */
  statusCodes?: Record<string, number>;
  /** CPU (utime+stime, process tree) of the target's own processes per request, in µs. */
  cpuUsPerRequest: number | null;
  /** CPU of the echo backends per request, in µs (null for targets that are the backend itself). */
  backendCpuUsPerRequest: number | null;
  /** CPU-seconds of the target in the window. */
  cpuSeconds: number | null;
  /**
   * Share of the whole machine (all cores) that was busy in the window, 0..1, every process included.
   * With the target's and backends' CPU it shows how starved a run was by other jobs on a shared machine.
   */
  machineBusy: number | null;
  /** Target's RSS (MiB): at the end of the run; for ws-idle while the sockets are held. */
  rssMb: number | null;
  /** ws-idle: RSS before opening, fds while held, sockets opened and proven alive. */
  rssBeforeMb?: number;
  fdsHeld?: number;
  opened?: number;
  alive?: number;
  /** Set when the run could not be made (the target failed, the tool is missing). */
  failure?: string;
}
