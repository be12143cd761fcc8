import http2, { type OutgoingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import { type Duplex, Readable } from "node:stream";
import { ignoreErrorHandledOnClose } from "../../lib/errors.js";
import { addH2Headers, h2Trailers } from "../conn_pool/h2_headers.js";
import type { RawHeaders } from "../conn_pool/types.js";
import { DownstreamStream, type StreamContext, type WatchedSocket } from "./stream.js";

const { NGHTTP2_INTERNAL_ERROR } = http2.constants;

/** A request on an HTTP/2 (h2c) stream. */
export class H2Stream extends DownstreamStream {
  private trailers: RawHeaders | null = null;

  constructor(
    readonly stream: ServerHttp2Stream,
    ctx: StreamContext,
  ) {
    super("HTTP/2", ctx);
    this.attachConnection(stream.session?.socket as WatchedSocket | undefined);
    stream.on("error", ignoreErrorHandledOnClose);
    stream.on("close", () => this.closed());
  }

  /** The client's END_STREAM has arrived (the body may still be unread). */
  protected override requestEndReceived(): boolean {
    return this.stream.state.remoteClose === 1;
  }

  protected get scheme(): string {
    return "http";
  }

  onceDrain(cb: () => void): void {
    this.stream.once("drain", cb);
  }

  /** RFC 8441: the extended CONNECT succeeded (`:status 200`); the stream becomes the tunnel. */
  acceptUpgrade(headers: RawHeaders): Duplex {
    // The tunnel has its own idle timeout.
    this.stopTimers();
    this.sendHeaders(200, headers, false);
    // As on HTTP/1.1: the exchange is over as far as HTTP goes, so the tunnel's close is no reset.
    this.ended = true;
    return this.stream;
  }

  protected writeHead(
    status: number,
    headers: RawHeaders,
    endStream: boolean,
    trailersPossible: boolean,
  ): void {
    const stream = this.stream;
    if (stream.destroyed || stream.headersSent) return;
    const out: OutgoingHttpHeaders = addH2Headers({ ":status": status }, headers);
    if (endStream || !trailersPossible) {
      stream.respond(out, { endStream });
      return;
    }
    stream.respond(out, { waitForTrailers: true });
    stream.once("wantTrailers", () => {
      // Empty trailers are sent by node as an empty DATA frame with END_STREAM.
      stream.sendTrailers(this.trailers === null ? {} : h2Trailers(this.trailers));
    });
  }

  protected writeBody(chunk: Buffer): boolean {
    if (this.stream.destroyed) return true;
    return this.stream.write(chunk);
  }

  protected endBody(trailers: RawHeaders | null): void {
    this.trailers = trailers;
    if (!this.stream.destroyed) this.stream.end();
  }

  protected endWith(body: string): void {
    if (!this.stream.destroyed) this.stream.end(body);
  }

  protected destroyStream(): void {
    if (!this.stream.destroyed) this.stream.close(NGHTTP2_INTERNAL_ERROR);
  }
}

/**
 * The request body of an HTTP/2 stream as a separate Readable: pools destroy the body they were
 * given once sent (undici does), and destroying an Http2Stream would reset the whole exchange.
 * Destroying the wrapper early drains and discards the rest of the upload instead.
 */
export function guardedBody(src: Readable): Readable {
  src.pause();
  const out = new Readable({
    read() {
      src.resume();
    },
    destroy(err, cb) {
      src.removeListener("data", onData);
      if (!src.readableEnded) src.resume();
      cb(err);
    },
  });
  const onData = (chunk: Buffer): void => {
    if (!out.push(chunk)) src.pause();
  };
  src.on("data", onData);
  src.once("end", () => out.push(null));
  return out;
}
