export { type EchoConfig, resolveConfig } from "./config.js";
export { HEADER_INSTANCE, HEADER_PATH, HEADER_PROTOCOL } from "./exchange.js";
export type { JsonView } from "./routes/hello.js";
export { type EchoOptions, type EchoServer, startEcho } from "./server.js";
