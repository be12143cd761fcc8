export { HEADER_INSTANCE, HEADER_PATH, HEADER_PROTOCOL } from "./exchange.js";
export type { AnythingView } from "./routes/anything.js";
export type { JsonView } from "./routes/hello.js";
export type { TlsView } from "./routes/tls_view.js";
export { type EchoOptions, type EchoServer, startEcho } from "./server.js";
export { type EchoConfig, type EchoTlsConfig, resolveConfig } from "./settings.js";
