/**
 * An L4 listener (Envoy's listener): a net.Server bound to the listener's address that hands each
 * accepted socket to its connection handler (the HTTP connection manager, built by
 * proxy/server/http_filter_chain.ts), after the h2c preface sniff when the handler's `codec_type` is
 * auto (as Envoy's AUTO codec does without ALPN). Envoy's connection limits apply at accept: the
 * listener's own (runtime) and the overload manager's global one; `listener.<address>.*` stats.
 */
import net, { type AddressInfo, type Socket } from "node:net";
import { ignoreAcceptError, ignoreErrorHandledOnClose } from "../../lib/errors.js";
import { sniff } from "../../lib/h2c_sniff.js";
import type { ConnectionHandler } from "../api/connection_handler.js";
import type { ListenerConfig } from "../config/model.js";
import type { StatsStore } from "../stats/store.js";
import { globalConnections } from "./limits.js";
import { createListenerStats } from "./stats.js";

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
}

export function createListener(
  config: ListenerConfig,
  handler: ConnectionHandler,
  store: StatsStore,
): Listener {
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
    listenerStats.downstream_cx_total.value++;
    listenerStats.downstream_cx_active.value++;
    socket.once("close", () => {
      global?.release();
      sockets.delete(socket);
      listenerStats.downstream_cx_active.value--;
      listenerStats.downstream_cx_destroy.value++;
      if (drained !== null && sockets.size === 0) drained();
    });
    handler.accept(socket);
    const codec = handler.codecType;
    if (codec === "auto")
      sniff(socket, handler.sniffTimeoutMs, (protocol, peeked) => {
        socket.unshift(peeked);
        handler.dispatch(socket, protocol);
      });
    else handler.dispatch(socket, codec);
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
    drain: () => {
      stopAccepting();
      handler.drain();
      if (sockets.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        drained = resolve;
      });
    },
    close: async () => {
      stopAccepting();
      handler.close();
      for (const s of sockets) s.destroy();
      if (drained !== null) drained();
    },
  };
}
