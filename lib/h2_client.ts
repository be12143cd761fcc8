/**
 * The h2c (HTTP/2 over cleartext, prior knowledge) client of the conformance checks and the tests
 * (test-support/ re-exports it): one request on a given session or on a fresh one.
 */
import http2 from "node:http2";
import { ignoreErrorHandledOnClose } from "./errors.js";

export interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
  /** `body` as UTF-8. */
  text: string;
}

export interface H2Options {
  /** Default GET. */
  method?: string;
  /** Sent after `:method` and `:path`, so `:authority` or `:scheme` can be set (or those replaced). */
  headers?: http2.OutgoingHttpHeaders;
  body?: Buffer | string;
  /** Request trailers, sent after the body. */
  trailers?: http2.OutgoingHttpHeaders;
  /** Cancel the stream (and fail) when it is idle this long (default: no limit). */
  timeoutMs?: number;
  /** Host of a fresh session (default 127.0.0.1). */
  host?: string;
}

/**
 * One request, on `on` when it is a session (left open) or else on a fresh session to port `on`
 * (closed afterwards). Resolves when the response has ended; rejects on a stream or session error
 * and when the stream is reset or closed before its end.
 */
export async function h2(
  on: number | http2.ClientHttp2Session,
  path: string,
  opts: H2Options = {},
): Promise<H2Reply> {
  const fresh = typeof on === "number";
  const session = fresh ? http2.connect(`http://${opts.host ?? "127.0.0.1"}:${on}`) : on;
  if (fresh) session.on("error", ignoreErrorHandledOnClose); // its streams fail with it: the request rejects
  try {
    return await exchange(session, path, opts);
  } finally {
    if (fresh) session.destroy();
  }
}

function exchange(session: http2.ClientHttp2Session, path: string, opts: H2Options): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const sendsMore = opts.body !== undefined || opts.trailers !== undefined;
    const stream = session.request(
      { ":method": opts.method ?? "GET", ":path": path, ...opts.headers },
      { endStream: !sendsMore, waitForTrailers: opts.trailers !== undefined },
    );
    if (opts.timeoutMs !== undefined)
      stream.setTimeout(opts.timeoutMs, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    let ended = false;
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      headers = h;
    });
    stream.on("trailers", (t) => {
      trailers = t;
    });
    stream.on("wantTrailers", () => stream.sendTrailers(opts.trailers ?? {}));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      ended = true;
    });
    stream.on("error", reject);
    stream.on("close", () => {
      if (!ended) {
        reject(new Error(`h2 stream ${path} closed before its end (RST_STREAM code ${stream.rstCode})`));
        return;
      }
      const body = Buffer.concat(chunks);
      resolve({ status: Number(headers[":status"]), headers, trailers, body, text: body.toString("utf8") });
    });
    if (sendsMore) stream.end(opts.body);
  });
}
