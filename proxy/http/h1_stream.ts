import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { ignoreErrorHandledOnClose } from "../../lib/errors.js";
import type { RawHeaders } from "../conn_pool/types.js";
import { type DownstreamProtocol, DownstreamStream, type StreamContext } from "./stream.js";

/** A request served by node:http (HTTP/1.0 and HTTP/1.1). */
export class H1Stream extends DownstreamStream {
  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    protocol: DownstreamProtocol,
    ctx: StreamContext,
  ) {
    super(protocol, ctx);
    req.on("error", ignoreErrorHandledOnClose);
    res.on("error", ignoreErrorHandledOnClose);
    res.on("close", () => this.closed());
  }

  protected get scheme(): string {
    return "http";
  }

  onceDrain(cb: () => void): void {
    this.res.once("drain", cb);
  }

  acceptUpgrade(): Duplex {
    throw new Error("not an upgrade stream");
  }

  protected writeHead(status: number, headers: RawHeaders, endStream: boolean): void {
    const res = this.res;
    if (this.ctx.draining || this.closeConnection) res.shouldKeepAlive = false;
    res.writeHead(status, headers);
    if (endStream) res.end();
  }

  protected writeBody(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }

  protected endBody(trailers: RawHeaders | null): void {
    if (trailers !== null && trailers.length > 0 && this.res.chunkedEncoding) {
      const pairs: [string, string][] = [];
      for (let i = 0; i < trailers.length; i += 2)
        pairs.push([trailers[i] as string, trailers[i + 1] as string]);
      this.res.addTrailers(pairs);
    }
    this.res.end();
  }

  protected endWith(body: string): void {
    this.res.end(body);
  }

  protected destroyStream(): void {
    this.res.destroy();
  }
}
