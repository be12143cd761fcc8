#!/usr/bin/env node
/**
 * `echomesh-proxy`: runs Envoy static configs. The seed's command line works with only the program
 * name changed:  echomesh-proxy -c /etc/front-envoy.yaml --service-cluster front-proxy
 * Flags: ./server/options.ts (USAGE) and proxy/README.md. Exit codes: lib/cli.ts EXIT (a bad flag or
 * value is 2, an invalid config 1).
 */
import { EXIT, usageLine, versionLine } from "../lib/cli.js";
import { defaultFactories } from "./server/factories.js";
import { type ParsedCommand, parseCommandLine, USAGE, UsageError } from "./server/options.js";
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
  let parsed: ParsedCommand;
  try {
    parsed = parseCommandLine(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(usageLine(BIN, err.message));
    return EXIT.usage;
  }
  if (parsed.kind === "help") {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (parsed.kind === "version") {
    process.stdout.write(versionText());
    return EXIT.ok;
  }
  return runProxy(parsed.options, defaultFactories());
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${BIN}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(EXIT.failure);
  },
);
