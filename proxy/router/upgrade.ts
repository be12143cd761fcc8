/**
 * Upgrades (WebSocket) through the router: the upgrade request goes to a host of the route's cluster
 * through `pool.tunnel()` (HTTP/1.1 upgrade on a dedicated connection, or RFC 8441 extended CONNECT
 * on an HTTP/2 upstream that allows it); on success the downstream gets `101` (HTTP/1.1) or `200`
 * (HTTP/2 extended CONNECT) and both sides are spliced as a byte tunnel: no route timeout, only the
 * idle timeout; each direction half-closes on its own (a FIN or END_STREAM is passed on), both sides
 * are destroyed on an error or a reset.
 *
 * Failures before the tunnel exists, v3 (Envoy 1.40, where upgrades go through the router): the
 * router's local replies (503 `no healthy upstream`, 503 `upstream connect error ... reset reason:
 * ...` for a connect failure or a reset); an upstream answer of 400 or more is forwarded as is, any
 * other non-upgrade answer becomes a local reply with its status and headers and no body
 * (`connection: close`, as measured). An HTTP/2 cluster whose peer did not enable RFC 8441
 * (`allow_connect` on a sidecar) fails as Envoy fails there: 503, reset reason `connection
 * termination`.
 *
 * v2 files follow Envoy's 2018 WebSocket handler (`ws_handler_impl.cc`): headers-only replies, 503
 * with no healthy upstream and 504 on a connect failure, a reset after connecting closes the
 * downstream, every non-upgrade answer is forwarded as is, and an HTTP/2 cluster without RFC 8441 is
 * reached by a raw HTTP/1.1 upgrade on a connection of its own.
 */
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { getRawHeader } from "../api/headers.js";
import { type RawHeaders, TunnelError, type TunnelResult } from "../api/upstream.js";
import type { ConfigVersion, ForwardAction, RouteMatch } from "../config/model.js";
import { countFailureBeforeHead, countResponseHead } from "../conn_pool/host_stats.js";
import { splice } from "../conn_pool/splice.js";
import {
  NO_HEALTHY_UPSTREAM,
  resetDetails,
  resetFlag,
  upstreamResetBody,
  upstreamResetStatus,
} from "../http/local_reply.js";
import type { HcmStats } from "../http/stats.js";
import type { DownstreamStream } from "../http/stream.js";
import type { Cluster } from "../upstream/cluster.js";
import { isEnvoyInternal } from "./forward.js";
import { beginUpstream, buildUpstreamRequest, expectedTimeout } from "./upstream_request.js";

export interface UpgradeContext {
  readonly hcmStats: HcmStats;
  readonly dialect: ConfigVersion;
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
  // Envoy sets x-envoy-expected-rq-timeout-ms on upgrade requests too.
  const perTry = (action.retryPolicy ?? null)?.perTryTimeoutMs ?? 0;
  const req = buildUpstreamRequest(stream, action, match, expectedTimeout(action.timeoutMs, perTry));
  // An RFC 8441 CONNECT becomes the HTTP/1.1 GET it stands for (the pool re-encodes it per hop).
  req.method = "GET";
  const internal = isEnvoyInternal(req.headers);
  // Envoy counts an upgrade when its filter chain is made, before the upstream answers (a refused
  // upgrade included); `downstream_cx_upgrades_active` only counts tunnels here.
  ctx.hcmStats.downstream_cx_upgrades_total.value++;
  const host = beginUpstream(stream, cluster, action, req, internal);
  if (host === null) {
    stream.sendLocalReply(503, ctx.dialect === "v3" ? NO_HEALTHY_UPSTREAM : "", "no_healthy_upstream");
    return;
  }
  cluster.stats.upstream_rq_active.value++;
  let settled = false;
  /**
   * The handshake is over. The upgrade request counts as sent (`upstream_rq_total`, the host's
   * `rq_total`) unless its connection could not be made, as for every request (the pools' rule).
   */
  const settle = (connected: boolean): boolean => {
    if (settled) return false;
    settled = true;
    cluster.stats.upstream_rq_active.value--;
    if (connected) {
      cluster.stats.upstream_rq_total.value++;
      host.stats.rq_total++;
    }
    return true;
  };
  stream.onAbort = () => settle(false);
  cluster
    .pool(host)
    .tunnel(req, type, ctx.dialect === "v2")
    .then(
      (result) => {
        if (!settle(true)) {
          discard(result);
          return;
        }
        stream.onAbort = null;
        // Envoy 1.40 charges a 101 or a passed-through answer (400 or more); a failed handshake
        // (another status, answered as a local reply) is not charged to the cluster or the host.
        if (result.upgraded || ctx.dialect === "v2" || result.status >= 400) {
          cluster.stats.countResponse(result.status, internal);
          countResponseHead(host.stats, result.status);
        }
        if (result.upgraded) accept(ctx, stream, result, idleTimeoutMs, downstreamHead);
        else if (ctx.dialect === "v2" || result.status >= 400)
          forwardResponse(stream, result.status, lowerNames(result.headers), result.body);
        else {
          // Envoy 1.40: the handshake failed; the answer's status and headers, no body.
          result.body.destroy();
          const headers: RawHeaders = [];
          const all = lowerNames(result.headers);
          for (let i = 0; i < all.length; i += 2) {
            const name = all[i] as string;
            // Envoy's local reply has no body: it drops the body's headers (content-type too, measured).
            if (name !== "content-length" && name !== "transfer-encoding" && name !== "content-type")
              headers.push(name, all[i + 1] as string);
          }
          stream.sendLocalReply(result.status, "", "upgrade_failed", headers);
        }
      },
      (err: unknown) => {
        const reason = err instanceof TunnelError ? err.reason : "connection failure";
        const detail = err instanceof Error ? err.message : "";
        const connectFailed = reason === "connection failure" || reason === "connection timeout";
        if (!settle(!connectFailed)) return;
        stream.onAbort = null;
        countFailureBeforeHead(host.stats);
        stream.addFlag(resetFlag(reason));
        if (ctx.dialect === "v3") {
          const status = upstreamResetStatus(reason);
          cluster.stats.countResponse(status, internal);
          stream.sendLocalReply(
            status,
            upstreamResetBody(reason, false, "v3"),
            resetDetails(reason, false, "v3", detail),
          );
        } else if (connectFailed) {
          cluster.stats.countResponse(504, internal);
          stream.sendLocalReply(504, "", resetDetails(reason, false, "v2"));
        } else {
          stream.responseCodeDetails = resetDetails(reason, false, "v2");
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
  const headers = lowerNames(result.headers, "server");
  if (stream.protocol !== "HTTP/2" && getRawHeader(headers, "sec-websocket-accept") === undefined) {
    // The upstream spoke RFC 8441 (no key/accept on HTTP/2); an HTTP/1.1 client needs the accept.
    const key = getRawHeader(stream.headers, "sec-websocket-key");
    if (key !== undefined) headers.push("sec-websocket-accept", websocketAccept(key));
  }
  const down = stream.acceptUpgrade(headers);
  if (result.head.length > 0) down.write(result.head);
  if (downstreamHead.length > 0) upstream.write(downstreamHead);
  const stats = ctx.hcmStats;
  stats.downstream_cx_upgrades_active.value++;
  splice(down, upstream, {
    idleTimeoutMs,
    // The upstream reset or dropped the tunnel without its end: Envoy resets the downstream stream
    // (`downstream_rq_tx_reset`, the stream no longer active when the connection closes).
    onAbort: (side) => {
      if (side === upstream) stream.resetStream();
    },
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

/** The upstream's headers with lower-case names (as Envoy's codecs give them), without `drop`. */
function lowerNames(headers: RawHeaders, drop = ""): RawHeaders {
  const out: RawHeaders = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = (headers[i] as string).toLowerCase();
    if (name === drop) continue;
    out.push(name, headers[i + 1] as string);
  }
  return out;
}

function websocketAccept(key: string): string {
  return createHash("sha1")
    .update(key + WS_GUID)
    .digest("base64");
}
