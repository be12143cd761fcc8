/** An h2c (prior knowledge) server: a net.Server whose every connection is an Http2Connection. */
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { ignoreAcceptError } from "../errors.js";
import { Http2Connection, type Http2Options } from "./connection.js";
import type { Fields, Http2Stream } from "./stream.js";

export type StreamHandler = (stream: Http2Stream, fields: Fields, endStream: boolean) => void;

export function createH2cServer(onStream: StreamHandler, options: Http2Options = {}): Server {
  const server = createNetServer((socket: Socket) => {
    new Http2Connection(socket, "server", options, { onStream });
  });
  server.on("error", ignoreAcceptError);
  return server;
}
