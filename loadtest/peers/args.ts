/** `--port N --upstreams 127.0.0.1:1,127.0.0.1:2` for the small peer programs. */
import { parseArgs } from "node:util";

export interface PeerArgs {
  port: number;
  upstreams: string[];
}

export function peerArgs(argv: string[]): PeerArgs {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: "string" }, upstreams: { type: "string" } },
  });
  return {
    port: Number(values.port ?? 0),
    upstreams: (values.upstreams ?? "").split(",").filter((u) => u !== ""),
  };
}

/** Stop on SIGTERM/SIGINT. */
export function exitOnSignal(close: () => void): void {
  const stop = (): void => {
    close();
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
