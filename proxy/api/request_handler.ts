/**
 * What the connection manager calls once a request's head is decoded (Envoy's filter chain, here
 * one filter: the router implements it). Generic over the stream so that this contract imports
 * nothing of `http/`: the connection manager fills `S` with its DownstreamStream.
 */
export interface RequestHandler<S> {
  /** An ordinary request: answer it on `stream` (forward upstream or reply locally). */
  route(stream: S): void;
  /** An Upgrade or extended CONNECT request; `head` is what the client sent after its request head. */
  routeUpgrade(stream: S, head: Buffer): void;
}
