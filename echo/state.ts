import type { Logger } from "pino";
import type { EchoMetrics } from "./metrics.js";
import type { EchoConfig } from "./settings.js";

/** "Fail the next N requests": a status code, or `reset` for an abrupt connection/stream reset. */
export interface FailPlan {
  remaining: number;
  status: number | "reset";
}

/** Everything a handler may need about its instance. One per `startEcho()`. */
export interface EchoContext {
  readonly config: EchoConfig;
  readonly metrics: EchoMetrics;
  readonly logger: Logger;
  /** Local port actually bound (reported as `httpPort`). */
  port: number;
  /** Health endpoint answer, switched at runtime by POST /_echo/health. */
  healthy: boolean;
  /** Runtime failure injection set by POST /_echo/fail. */
  fail: FailPlan;
  /** True once shutdown began: h1 responses carry `Connection: close`. */
  draining: boolean;
}

/** Takes one failure from the plan, if any is left. */
export function takeFailure(ctx: EchoContext): number | "reset" | undefined {
  if (ctx.fail.remaining <= 0) return undefined;
  ctx.fail.remaining--;
  return ctx.fail.status;
}
