import type { Socket } from "node:net";
import { ignoreErrorUntilHandedOver } from "../../lib/errors.js";
import { upgradeRequest } from "../../lib/http1/upgrade_client.js";
import { stripHopByHop } from "../api/headers.js";
import { TunnelError, type TunnelResult, type UpstreamRequest } from "../api/upstream.js";
import { type ConnectContext, type CxState, connectTcp } from "./connector.js";

/**
 * An HTTP/1.1 upgrade (WebSocket) on a dedicated new TCP connection, as Envoy's 2018 `use_websocket`
 * path did (also the fallback of HTTP/2 pools whose peer did not enable RFC 8441).
 *
 * `req.headers` arrives without `Connection`/`Upgrade` (hop-by-hop stripping); they are re-added as
 * `Connection: Upgrade` and `Upgrade: <type>`. On 101 the socket is handed over half-open (with an
 * `error` listener attached, so nothing crashes before the caller splices it); on any other response
 * the body is returned and the connection is destroyed once that body has been read or dropped.
 * The returned headers have hop-by-hop headers removed: an HTTP/1.1 downstream re-adds
 * `Connection: Upgrade` and `Upgrade: <type>` to its 101. The handshake is our codec's
 * (lib/http1/upgrade_client.ts), not node:http's: nothing of it stays on an idle tunnel's socket.
 */
export function openH1Tunnel(
  ctx: ConnectContext,
  req: UpstreamRequest,
  upgradeType: string,
): Promise<TunnelResult> {
  // The upgrade request is on the connection from the moment it is sent until the tunnel closes.
  const cx: CxState = { activeRq: false, closing: false };
  return new Promise((resolve, reject) => {
    connectTcp(
      ctx,
      (err, socket) => {
        if (err !== null) {
          reject(new TunnelError(err.timedOut ? "connection timeout" : "connection failure", err.message));
          return;
        }
        cx.activeRq = true;
        sendUpgrade(socket, req, upgradeType, resolve, reject);
      },
      cx,
    );
  });
}

function sendUpgrade(
  socket: Socket,
  req: UpstreamRequest,
  upgradeType: string,
  resolve: (r: TunnelResult) => void,
  reject: (e: Error) => void,
): void {
  // As Envoy sends it: `host`, the request's headers with an HTTP/1.1 client's own `connection` and
  // `upgrade` where they were; an RFC 8441 request has none and gets them last.
  const headers: string[] = ["host", req.authority];
  let connection = false;
  let upgrade = false;
  const raw = req.headers;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = (raw[i] as string).toLowerCase();
    if (lower === "host") continue;
    if (lower === "connection") connection = true;
    else if (lower === "upgrade") upgrade = true;
    headers.push(lower, raw[i + 1] as string);
  }
  if (!upgrade) headers.push("upgrade", upgradeType);
  if (!connection) headers.push("connection", "upgrade");
  upgradeRequest(
    socket,
    { method: req.method, path: req.path, headers },
    ignoreErrorUntilHandedOver,
    (failure, answer) => {
      if (failure !== null || answer === null) {
        const kind = failure?.kind ?? "closed";
        reject(
          new TunnelError(
            kind === "protocol" ? "protocol error" : "connection termination",
            failure?.message ?? "",
          ),
        );
        return;
      }
      if (answer.upgraded) {
        // The 101's headers as they came (Envoy keeps `upgrade` and `connection` in place).
        resolve({
          upgraded: true,
          status: 101,
          headers: answer.rawHeaders,
          stream: answer.socket,
          head: answer.head,
        });
        return;
      }
      // Not upgraded: the connection serves this one answer only (destroyed with its body).
      answer.body.on("error", ignoreErrorUntilHandedOver);
      resolve({
        upgraded: false,
        status: answer.status,
        headers: stripHopByHop(answer.headers),
        body: answer.body,
      });
    },
  );
}
