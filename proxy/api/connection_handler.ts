import type { Socket } from "node:net";

/**
 * What a listener hands its accepted connections to (Envoy's network filter chain; here always the
 * HTTP connection manager). The listener stays L4: accepting, connection limits, its own
 * `listener.*` stats, and the h2c preface sniff when `codecType` is `auto`.
 */
export interface ConnectionHandler {
  /** `codec_type`: which codec takes every connection, or `auto` (the listener sniffs the preface). */
  readonly codecType: "auto" | "http1" | "http2";
  /** How long a sniff may wait for the first decisive bytes before the socket is closed. */
  readonly sniffTimeoutMs: number;
  /** A connection was accepted; its protocol is not known yet. Counted and watched until it closes. */
  accept(socket: Socket): void;
  /** Its protocol is known (configured or sniffed; the peeked bytes are back in front): the codec takes it. */
  dispatch(socket: Socket, protocol: "http1" | "http2"): void;
  /** Ask open connections to finish (HTTP/1.1 `connection: close`, HTTP/2 GOAWAY); idle ones close. */
  drain(): void;
  /**
   * Envoy's drain manager `drainClose()`: while on, every HTTP/1.1 response closes its connection
   * (`connection: close`) and HTTP/2 connections get a GOAWAY; idle connections are not cut (a
   * request on its way would fail), they close with their next response. Set by `/healthcheck/fail`
   * (off again by `/healthcheck/ok`) and on the filter chain a reload replaced.
   */
  drainClose?(on: boolean): void;
  /** The listener closes; its sockets are destroyed by the listener. */
  close(): void;
}
