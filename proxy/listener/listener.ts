/**
 * An L4 listener (Envoy's listener): a net.Server bound to the listener's address that hands each
 * accepted socket to its connection handler (the HTTP connection manager, built by
 * proxy/server/http_filter_chain.ts), after the h2c preface sniff when the handler's `codec_type` is
 * auto (as Envoy's AUTO codec does without ALPN). Envoy's connection limits apply at accept: the
 * listener's own (runtime) and the overload manager's global one; `listener.<address>.*` stats.
 * A reload may give it a new connection handler (`replaceHandler`): each connection stays with the
 * handler that accepted it, the old one's connections drain (proxy/server/reload.ts).
 */
import net, { type AddressInfo, type Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { ignoreAcceptError, ignoreErrorHandledOnClose } from "../../lib/errors.js";
import { sniff } from "../../lib/h2c_sniff.js";
import type { ConnectionHandler } from "../api/connection_handler.js";
import type { DownstreamTlsContext, ListenerConfig } from "../config/model.js";
import type { StatsStore } from "../stats/store.js";
import { createDownstreamTls, type DownstreamTls } from "../tls/server.js";
import { listenerSslStats, type SslStats } from "../tls/stats.js";
import { globalConnections } from "./limits.js";
import { createListenerStats, listenerStatName } from "./stats.js";

export interface Listener {
  readonly name: string;
  readonly server: net.Server;
  /** Bind; resolves with the bound address (port 0 -> the real port). */
  listen(): Promise<AddressInfo>;
  /**
   * Stop accepting; HTTP/1.1 responses get `connection: close`, HTTP/2 sessions a GOAWAY, idle
   * connections close. Resolves when every connection is gone (the caller bounds the wait).
   */
  drain(): Promise<void>;
  /** Stop accepting and destroy every connection now. */
  close(): Promise<void>;
  /** The filter chain new connections go to. */
  readonly handler: ConnectionHandler;
  /**
   * A reload changed this listener but not its address: new connections go to `next`; the old
   * chain's connections finish their requests with `connection: close` / GOAWAY (drainClose) and
   * whatever is left after `drainMs` is closed, as Envoy drains a replaced filter chain.
   */
  replaceHandler(next: ConnectionHandler, drainMs: number, tls?: DownstreamTlsContext): void;
  /** `/healthcheck/fail` (true) and `/healthcheck/ok` (false): see ConnectionHandler.drainClose. */
  drainClose(on: boolean): void;
  /** Stop accepting; open connections carry on (Envoy's `/drain_listeners` stopping a listener). */
  stopListening(): void;
}

/** The connections of one filter chain (a reload retires the old one's while they finish). */
interface Generation {
  handler: ConnectionHandler;
  /** The chain's TLS transport socket; null: plain TCP. */
  tls: DownstreamTls | null;
  sockets: Set<Socket>;
  timer: NodeJS.Timeout | null;
}

/**
 * A connection whose protocol is known or sniffed goes to its connection manager: a TLS connection
 * whose ALPN chose `h2` or `http/1.1` goes to that codec (Envoy's AUTO codec reads ALPN first),
 * any other with `codec_type: auto` is sniffed for the h2c preface.
 */
function start(handler: ConnectionHandler, socket: Socket, alpn: string | false | null): void {
  handler.accept(socket);
  const codec = handler.codecType;
  if (codec !== "auto") handler.dispatch(socket, codec);
  else if (alpn === "h2") handler.dispatch(socket, "http2");
  else if (alpn === "http/1.1") handler.dispatch(socket, "http1");
  else
    sniff(socket, handler.sniffTimeoutMs, (protocol, peeked) => {
      socket.unshift(peeked);
      handler.dispatch(socket, protocol);
    });
}

export function createListener(
  config: ListenerConfig,
  initialHandler: ConnectionHandler,
  store: StatsStore,
): Listener {
  // Created with the first TLS filter chain: a plain listener has no `ssl.*` stats, as in Envoy.
  let ssl: SslStats | null = null;
  const generation = (handler: ConnectionHandler, tls: DownstreamTlsContext | undefined): Generation => {
    const gen: Generation = { handler, tls: null, sockets: new Set(), timer: null };
    if (tls !== undefined) {
      ssl ??= listenerSslStats(store, listenerStatName(config.address));
      gen.tls = createDownstreamTls(tls, ssl, (secure: TLSSocket) =>
        start(gen.handler, secure, secure.alpnProtocol),
      );
    }
    return gen;
  };
  let current: Generation = generation(initialHandler, config.tls);
  const retired = new Set<Generation>();
  let drainCloseOn = false;
  const retire = (gen: Generation): void => {
    if (gen.timer !== null) clearTimeout(gen.timer);
    retired.delete(gen);
    gen.handler.close();
  };
  const listenerStats = createListenerStats(store, config.address);
  const sockets = new Set<Socket>();
  // Envoy's connection limits: past one, a connection is closed as soon as it is accepted (not
  // counted in downstream_cx_total); the overload manager's is checked first, as in Envoy.
  const connectionLimit = config.connectionLimit;
  const global =
    config.globalConnectionLimit === null ? null : globalConnections(store, config.globalConnectionLimit);
  let draining = false;
  let drained: (() => void) | null = null;
  const server = net.createServer({ noDelay: true }, (socket: Socket) => {
    socket.on("error", ignoreErrorHandledOnClose);
    if (draining) {
      socket.destroy();
      return;
    }
    if (global !== null && !global.tryAllocate()) {
      listenerStats.downstream_global_cx_overflow.value++;
      socket.destroy();
      return;
    }
    if (connectionLimit !== null && sockets.size >= connectionLimit) {
      global?.release();
      listenerStats.downstream_cx_overflow.value++;
      socket.destroy();
      return;
    }
    sockets.add(socket);
    const gen = current;
    gen.sockets.add(socket);
    const handler = gen.handler;
    listenerStats.downstream_cx_total.value++;
    listenerStats.downstream_cx_active.value++;
    socket.once("close", () => {
      global?.release();
      sockets.delete(socket);
      gen.sockets.delete(socket);
      if (gen !== current && gen.sockets.size === 0 && retired.has(gen)) retire(gen);
      listenerStats.downstream_cx_active.value--;
      listenerStats.downstream_cx_destroy.value++;
      if (drained !== null && sockets.size === 0) drained();
    });
    if (gen.tls !== null) gen.tls.handshake(socket);
    else start(handler, socket, null);
  });
  server.on("error", ignoreAcceptError);

  const stopAccepting = (): void => {
    draining = true;
    if (server.listening) server.close();
  };

  return {
    name: config.name,
    server,
    listen: () =>
      new Promise<AddressInfo>((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        server.once("error", onError);
        server.listen({ host: config.address.address, port: config.address.port }, () => {
          server.removeListener("error", onError);
          resolve(server.address() as AddressInfo);
        });
      }),
    get handler() {
      return current.handler;
    },
    replaceHandler: (next: ConnectionHandler, drainMs: number, tls?: DownstreamTlsContext) => {
      const old = current;
      current = generation(next, tls);
      if (drainCloseOn) next.drainClose?.(true);
      if (old.sockets.size === 0) {
        old.handler.close();
        return;
      }
      retired.add(old);
      if (old.handler.drainClose !== undefined) old.handler.drainClose(true);
      else old.handler.drain();
      old.timer = setTimeout(() => {
        for (const s of old.sockets) s.destroy();
      }, drainMs);
      old.timer.unref();
    },
    stopListening: stopAccepting,
    drainClose: (on: boolean) => {
      drainCloseOn = on;
      current.handler.drainClose?.(on);
    },
    drain: () => {
      stopAccepting();
      current.handler.drain();
      for (const gen of retired) gen.handler.drain();
      if (sockets.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        drained = resolve;
      });
    },
    close: async () => {
      stopAccepting();
      current.handler.close();
      for (const gen of [...retired]) retire(gen);
      for (const s of sockets) s.destroy();
      if (drained !== null) drained();
    },
  };
}
