/**
 * RFC 8441 extended CONNECT on an h2c session of an Http2Pool: the WebSocket tunnel of an upgrade,
 * returned as the Duplex `TunnelResult` carries (the splice reads and writes it like a socket).
 */
import { Duplex } from "node:stream";
import { ignoreErrorUntilHandedOver } from "../../lib/errors.js";
import type { Http2Connection } from "../../lib/http2/connection.js";
import { ErrorCode } from "../../lib/http2/frames.js";
import type { Fields, Http2Stream } from "../../lib/http2/stream.js";
import { h2ConnectFields, rawFromH2Response } from "../api/h2_headers.js";
import { TunnelError, type TunnelResult, type UpstreamRequest } from "../api/upstream.js";
import type { Session } from "./h2_session.js";
import type { Http2Pool } from "./http2_pool.js";

/** `CONNECT` with `:protocol`; 200 means upgraded (reported as 101), another status is an answer. */
export function extendedConnect(
  pool: Http2Pool,
  s: Session,
  req: UpstreamRequest,
  upgradeType: string,
): Promise<TunnelResult> {
  return new Promise((resolve, reject) => {
    const conn = s.conn as Http2Connection;
    const stream = conn.request(h2ConnectFields(req, upgradeType), false);
    let code = -1;
    // Until the response head the stream is ours: a reset or close rejects. After it the tunnel
    // owns the stream's callbacks.
    stream.onReset = (c) => {
      code = c;
    };
    stream.onClose = () => {
      pool.releaseStream(s, false);
      const reason =
        code !== ErrorCode.REFUSED_STREAM && (conn.closed || conn.failed)
          ? "connection termination"
          : "remote reset";
      reject(new TunnelError(reason, `stream closed with error code ${Math.max(code, 0)}`));
    };
    stream.onHeaders = (fields: Fields) => {
      const status = Number(fields[1]);
      if (status < 200) return;
      const tunnel = new H2Tunnel(stream, pool, s);
      // Covered until the router splices or reads it (the splice tears both sides down on 'error').
      tunnel.on("error", ignoreErrorUntilHandedOver);
      const headers = rawFromH2Response(fields);
      if (status === 200) {
        resolve({ upgraded: true, status: 101, headers, stream: tunnel, head: Buffer.alloc(0) });
        return;
      }
      // Not upgraded: the answer is read to its end; nothing goes up, so our side ends now (and the
      // stream closes when the answer has ended).
      tunnel.end();
      resolve({ upgraded: false, status, headers, body: tunnel });
    };
  });
}

/**
 * An extended CONNECT stream as a Duplex: reads are the peer's DATA (its END_STREAM the readable
 * end; a paused reader stops returning window), writes are our DATA (the callback waits for flow
 * control), `end()` is our END_STREAM, `destroy()` a RST_STREAM CANCEL. The peer's RST_STREAM
 * (or the connection's end) destroys it with a TunnelError, except NO_ERROR (RFC 9113 8.1: the
 * peer needs no more of our data), which only closes it.
 */
class H2Tunnel extends Duplex {
  private pendingWrite: ((err?: Error | null) => void) | null = null;

  constructor(
    private readonly h2: Http2Stream,
    pool: Http2Pool,
    s: Session,
  ) {
    super({ allowHalfOpen: true });
    h2.onData = (chunk) => {
      // Views into socket reads that are not reused: kept as they are.
      if (!this.push(chunk)) h2.pause();
    };
    h2.onEnd = () => {
      this.push(null);
    };
    h2.onDrain = () => {
      const cb = this.pendingWrite;
      this.pendingWrite = null;
      cb?.();
    };
    h2.onReset = (code) => {
      if (code === ErrorCode.NO_ERROR) this.destroy();
      else
        this.destroy(
          new TunnelError(
            h2.connection.closed || h2.connection.failed ? "connection termination" : "remote reset",
            `stream reset with error code ${code}`,
          ),
        );
    };
    h2.onClose = () => {
      pool.releaseStream(s, false);
      const cb = this.pendingWrite;
      this.pendingWrite = null;
      cb?.();
    };
  }

  override _read(): void {
    this.h2.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    // A closed stream takes nothing: the chunk is dropped (its reset or close is reported already).
    if (this.h2.write(chunk) || this.h2.closed) cb();
    else this.pendingWrite = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.h2.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.h2.closed) this.h2.reset(ErrorCode.CANCEL);
    cb(err);
  }
}
