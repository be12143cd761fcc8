/**
 * The package's programmatic API (`import { startEcho, startProxy } from "echomesh"`): start an echo
 * service or a proxy inside a program or a test, on loopback ports, and close them after.
 *
 *   const echo = await startEcho({ instance: "a", port: 0 });        // port 0: any free port
 *   const proxy = await startProxy({ config: bootstrapFor(echo.port) }); // an Envoy bootstrap
 *   await fetch(proxy.url);                                           // x-echo-instance: a
 *   await proxy.close(); await echo.close();
 *
 * The bins (echomesh-echo, -proxy, -mesh, -bench, -conformance) are the command-line side of the
 * same code; the exit codes and `--version` they share are exported too.
 */

export { type EchoOptions, type EchoServer, startEcho } from "./echo/index.js";
export { EXIT, type ExitCode, PACKAGE_VERSION } from "./lib/cli.js";
export { ProxyConfigError } from "./proxy/config/errors.js";
export {
  type BoundListener,
  type RunningProxy,
  type StartProxyOptions,
  startProxy,
} from "./proxy/server/run.js";
