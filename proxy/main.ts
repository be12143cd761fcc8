#!/usr/bin/env node
/**
 * `echomesh-proxy`: runs Envoy static configs. The seed's command line works with only the program
 * name changed:  echomesh-proxy -c /etc/front-envoy.yaml --service-cluster front-proxy
 * Flags: ./server/options.ts (USAGE) and proxy/README.md.
 */
import { defaultFactories } from "./server/factories.js";
import { type ParsedCommand, parseCommandLine, USAGE, UsageError } from "./server/options.js";
import { runProxy } from "./server/run.js";
import { VERSION_STRING } from "./server/version.js";

async function main(): Promise<number> {
  let parsed: ParsedCommand;
  try {
    parsed = parseCommandLine(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`echomesh-proxy: ${err.message}\n\n${USAGE}`);
    return 1;
  }
  if (parsed.kind === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.kind === "version") {
    process.stdout.write(`${VERSION_STRING}\n`);
    return 0;
  }
  return runProxy(parsed.options, defaultFactories());
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `echomesh-proxy: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
