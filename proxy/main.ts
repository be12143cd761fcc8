#!/usr/bin/env node
/**
 * `echomesh-proxy`: runs Envoy static configs. The seed's command line works with only the program
 * name changed:  echomesh-proxy -c /etc/front-envoy.yaml --service-cluster front-proxy
 * Flags: ./server/options.ts (USAGE) and proxy/README.md. Exit codes: lib/cli.ts EXIT (a bad flag or
 * value is 2, an invalid config 1).
 */
import { EXIT, readCommandLine, versionLine } from "../lib/cli.js";
import { defaultFactories } from "./server/factories.js";
import { parseCommandLine, USAGE, UsageError } from "./server/options.js";
import { runProxy } from "./server/run.js";
import { VERSION } from "./server/version.js";

const BIN = "echomesh-proxy";

/**
 * `--version`: the line every bin prints, then Envoy's shape (`<name>  version: <sha>/<version>/
 * <status>/<build>/<ssl>`) for scripts that parse `envoy --version` (the image's `envoy` is us).
 */
function versionText(): string {
  return `${versionLine(BIN)}\n${BIN}  version: echomesh/${VERSION}/Clean/RELEASE/OpenSSL\n`;
}

async function main(): Promise<number> {
  const cli = readCommandLine(
    BIN,
    () => parseCommandLine(process.argv.slice(2)),
    (err) => err instanceof UsageError,
    USAGE,
    versionText(),
  );
  if ("exit" in cli) return cli.exit;
  return runProxy(cli.options, defaultFactories());
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${BIN}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(EXIT.failure);
  },
);
