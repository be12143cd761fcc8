/**
 * Upgrades (WebSocket) through the router: the upgrade request goes to a host of the route's cluster
 * through `pool.tunnel()` (HTTP/1.1 upgrade on a dedicated connection, or RFC 8441 extended CONNECT
 * on an HTTP/2 upstream that allows it); on success the downstream gets `101` (HTTP/1.1) or `200`
 * (HTTP/2 extended CONNECT) and both sides are spliced as a byte tunnel: no route timeout, only the
 * idle timeout, both sides destroyed on any error.
 *
 * Failures before the tunnel exists follow Envoy's 2018 WebSocket handler (`ws_handler_impl.cc`):
 * headers-only replies, 503 with no healthy upstream and 504 on a connect failure; a reset after
 * connecting closes the downstream. An upstream that answers without upgrading (e.g. 404) has its
 * response forwarded as is.
 */
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type { ForwardAction, RouteMatch } from "../config/model.js";
import { splice } from "../conn_pool/splice.js";
import { type RawHeaders, TunnelError, type TunnelResult } from "../conn_pool/types.js";
import { getRawHeader } from "../http/headers.js";
import { resetDetails, resetFlag } from "../http/local_reply.js";
import type { HcmStats } from "../http/stats.js";
import type { DownstreamStream } from "../http/stream.js";
import type { Cluster } from "../upstream/cluster.js";
import { autoHostAuthority, buildUpstreamRequest } from "./upstream_request.js";

export interface UpgradeContext {
  readonly hcmStats: HcmStats;
}

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export function forwardUpgrade(
  ctx: UpgradeContext,
  stream: DownstreamStream,
  cluster: Cluster,
  action: ForwardAction,
  match: RouteMatch,
  idleTimeoutMs: number,
  downstreamHead: Buffer,
): void {
  const type = stream.upgrade ?? "websocket";
  const req = buildUpstreamRequest(stream, action, match, 0);
  // An RFC 8441 CONNECT becomes the HTTP/1.1 GET it stands for (the pool re-encodes it per hop).
  req.method = "GET";
  const host = cluster.chooseHost();
  if (host === null) {
    stream.addFlag("UH");
    stream.sendLocalReply(503, "", "no_healthy_upstream");
    return;
  }
  stream.upstreamHost = host.key;
  if (action.autoHostRewrite) req.authority = autoHostAuthority(cluster, host, stream.authority);
  cluster.stats.upstream_rq_total.value++;
  cluster.stats.upstream_rq_active.value++;
  let settled = false;
  const settle = (): boolean => {
    if (settled) return false;
    settled = true;
    cluster.stats.upstream_rq_active.value--;
    return true;
  };
  stream.onAbort = settle;
  cluster
    .pool(host)
    .tunnel(req, type)
    .then(
      (result) => {
        if (!settle()) {
          discard(result);
          return;
        }
        stream.onAbort = null;
        cluster.stats.countResponse(result.status);
        cluster.stats.upstream_rq_completed.value++;
        if (result.upgraded) accept(ctx, stream, result, idleTimeoutMs, downstreamHead);
        else forwardResponse(stream, result.status, withoutServer(result.headers), result.body);
      },
      (err: unknown) => {
        if (!settle()) return;
        stream.onAbort = null;
        const reason = err instanceof TunnelError ? err.reason : "connection failure";
        stream.addFlag(resetFlag(reason));
        if (reason === "connection failure") {
          stream.sendLocalReply(504, "", resetDetails(reason, false));
        } else {
          stream.responseCodeDetails = resetDetails(reason, false);
          stream.resetStream();
        }
      },
    );
}

function accept(
  ctx: UpgradeContext,
  stream: DownstreamStream,
  result: Extract<TunnelResult, { upgraded: true }>,
  idleTimeoutMs: number,
  downstreamHead: Buffer,
): void {
  const upstream = result.stream;
  if (stream.aborted) {
    upstream.destroy();
    return;
  }
  const headers = withoutServer(result.headers);
  if (stream.protocol !== "HTTP/2" && getRawHeader(headers, "sec-websocket-accept") === undefined) {
    // The upstream spoke RFC 8441 (no key/accept on HTTP/2); an HTTP/1.1 client needs the accept.
    const key = getRawHeader(stream.headers, "sec-websocket-key");
    if (key !== undefined) headers.push("sec-websocket-accept", websocketAccept(key));
  }
  const down = stream.acceptUpgrade(headers);
  if (result.head.length > 0) down.write(result.head);
  if (downstreamHead.length > 0) upstream.write(downstreamHead);
  const stats = ctx.hcmStats;
  stats.downstream_cx_upgrades_total.value++;
  stats.downstream_cx_upgrades_active.value++;
  splice(down, upstream, {
    idleTimeoutMs,
    onClose: () => {
      stats.downstream_cx_upgrades_active.value--;
    },
  });
}

/** A non-upgrade answer to an upgrade request, streamed back with backpressure. */
function forwardResponse(
  stream: DownstreamStream,
  status: number,
  headers: RawHeaders,
  body: Readable,
): void {
  stream.responseCodeDetails = "via_upstream";
  stream.sendHeaders(status, headers, false);
  stream.onAbort = () => body.destroy();
  body.on("data", (chunk: Buffer) => {
    if (!stream.write(chunk)) {
      body.pause();
      stream.onceDrain(() => body.resume());
    }
  });
  body.on("end", () => {
    stream.onAbort = null;
    stream.end(null);
  });
  body.on("error", () => {
    stream.onAbort = null;
    stream.resetStream();
  });
}

function discard(result: TunnelResult): void {
  if (result.upgraded) result.stream.destroy();
  else result.body.destroy();
}

function withoutServer(headers: RawHeaders): RawHeaders {
  const out: RawHeaders = [];
  for (let i = 0; i < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() === "server") continue;
    out.push(headers[i] as string, headers[i + 1] as string);
  }
  return out;
}

function websocketAccept(key: string): string {
  return createHash("sha1")
    .update(key + WS_GUID)
    .digest("base64");
}
