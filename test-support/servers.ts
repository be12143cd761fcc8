/**
 * Test servers on loopback: bind one to a free port, count its connections, and close it with every
 * connection it accepted (HTTP/1.1 keep-alive sockets, raw sockets, the sockets of HTTP/2 sessions).
 */
import type { Server, Socket } from "node:net";

const accepted = new WeakMap<Server, Set<Socket>>();

/** Listens on 127.0.0.1 port 0 and resolves with the port; `closeServer` will end its connections. */
export function listen(server: Server): Promise<number> {
  const sockets = new Set<Socket>();
  accepted.set(server, sockets);
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      const address = server.address();
      if (address === null || typeof address === "string") reject(new Error("not a TCP server"));
      else resolve(address.port);
    });
  });
}

/** Destroys every connection the server accepted, then closes it. */
export function closeServer(server: Server): Promise<void> {
  for (const s of accepted.get(server) ?? []) s.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** How many connections the server holds open now. */
export function connections(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.getConnections((err, n) => (err ? reject(err) : resolve(n)));
  });
}
