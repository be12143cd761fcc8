import { type Exchange, send } from "../exchange.js";

/** Reserved prefix for the service's own endpoints; zcong never used it. */
export const ADMIN_PREFIX = "/_echo/";

function param(x: Exchange, name: string): string | undefined {
  return x.query === "" ? undefined : (new URLSearchParams(x.query).get(name) ?? undefined);
}

/**
 * GET/HEAD /_echo/health: 200 `ok`, or 503 `fail` after POST /_echo/health?status=fail.
 * POST /_echo/health?status=ok|fail switches it and answers with the new state.
 */
export function health(x: Exchange): void {
  const { ctx } = x;
  if (x.req.method === "POST") {
    const wanted = param(x, "status");
    if (wanted !== "ok" && wanted !== "fail") {
      send(x, 400, "use POST /_echo/health?status=ok or ?status=fail\n");
      return;
    }
    ctx.healthy = wanted === "ok";
  }
  send(x, ctx.healthy ? 200 : 503, ctx.healthy ? "ok\n" : "fail\n");
}

/**
 * POST /_echo/fail?count=N&status=S: the next N requests to echo routes (/, /hello, /echo and
 * unknown paths) answer S (default 503), or are reset when status=reset. count=0 clears.
 * GET /_echo/fail shows what is left.
 */
export function fail(x: Exchange): void {
  const { ctx } = x;
  if (x.req.method === "POST") {
    const countText = param(x, "count") ?? "1";
    const statusText = param(x, "status") ?? "503";
    if (!/^\d+$/.test(countText)) {
      send(x, 400, `invalid count: ${countText}\n`);
      return;
    }
    const status = statusText === "reset" ? "reset" : Number(statusText);
    if (status !== "reset" && !(/^\d{3}$/.test(statusText) && status >= 200 && status <= 599)) {
      send(x, 400, `invalid status: ${statusText} (use 200-599 or reset)\n`);
      return;
    }
    ctx.fail = { remaining: Number(countText), status };
  }
  send(x, 200, JSON.stringify(ctx.fail) + "\n", "application/json");
}

/** GET /_echo/metrics and GET /metrics: Prometheus text format. */
export function metrics(x: Exchange): void {
  x.ctx.metrics.render().then(
    (text) => send(x, 200, text, x.ctx.metrics.contentType),
    (err: Error) => send(x, 500, `metrics failed: ${err.message}\n`),
  );
}
