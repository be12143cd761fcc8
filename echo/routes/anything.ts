/**
 * httpbin habits (`--anything`): any method and path answers the request as JSON, body included
 * (httpbin's /anything), and `/status/NNN` answers NNN (httpbin, echo-basic).
 */
import type { Controls } from "../controls.js";
import { type Exchange, send, statusText } from "../exchange.js";
import { reply, sendSized } from "../reply.js";
import { collect, tooLarge } from "./echo.js";
import { type JsonView, jsonView } from "./hello.js";

/** The JSON view plus what httpbin's /anything adds. */
export interface AnythingView extends JsonView {
  /** The query: name -> values, in order (go-httpbin's shape). */
  args: Record<string, string[]>;
  /** The body: UTF-8 text, or `data:application/octet-stream;base64,...` when it is not UTF-8 (go-httpbin). */
  data: string;
  /** The body parsed as JSON when it is JSON, else null (httpbin). */
  json: unknown;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Any method, any path: the request, body included, as JSON. */
export function anything(x: Exchange, c: Readonly<Controls>): void {
  const limit = x.ctx.config.maxBodyBytes;
  if (Number(x.req.headers["content-length"] ?? 0) > limit) {
    tooLarge(x, limit);
    return;
  }
  collect(x, limit, (body) => {
    if (c.size !== undefined) {
      sendSized(x, c.status ?? 200, c.size, c);
      return;
    }
    const view: AnythingView = { ...jsonView(x), args: args(x.query), data: text(body), json: parsed(body) };
    reply(x, c, 200, JSON.stringify(view, null, 2), "application/json");
  });
}

/** The status of a `/status/NNN` path, `NaN` for another `/status/...`, undefined for other paths. */
export function statusPath(path: string): number | undefined {
  if (!path.startsWith("/status/")) return undefined;
  const code = path.slice(8);
  return /^\d{3}$/.test(code) && Number(code) >= 200 && Number(code) <= 599 ? Number(code) : Number.NaN;
}

/** `/status/NNN`: answers NNN with `NNN Reason` as its body (none for HEAD, 204, 304). */
export function status(x: Exchange, c: Readonly<Controls>, code: number): void {
  if (Number.isNaN(code)) {
    send(x, 400, `invalid status path ${x.path} (use /status/200 to /status/599)\n`);
    return;
  }
  const final = c.status ?? code;
  reply(x, c, final, `${final} ${statusText(final)}\n`, "text/plain; charset=utf-8");
}

function args(query: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (query === "") return out;
  for (const [name, value] of new URLSearchParams(query)) {
    const list = out[name];
    if (list === undefined) out[name] = [value];
    else list.push(value);
  }
  return out;
}

function text(body: Buffer): string {
  try {
    return UTF8.decode(body);
  } catch {
    return `data:application/octet-stream;base64,${body.toString("base64")}`;
  }
}

function parsed(body: Buffer): unknown {
  if (body.length === 0) return null;
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return null;
  }
}
