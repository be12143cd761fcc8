import { defaultSocketFactory, type SocketFactory } from "./connector.js";

/** Knobs that are not in the config model; tests use them to inject sockets. */
export interface PoolOptions {
  /** Opens the TCP socket to the host (default: `net.connect`, no-delay, keep-alive). */
  socketFactory: SocketFactory;
}

export function poolOptions(overrides?: Partial<PoolOptions>): PoolOptions {
  return { socketFactory: overrides?.socketFactory ?? defaultSocketFactory };
}
