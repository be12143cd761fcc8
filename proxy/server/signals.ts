/** Process signals for the shutdown sequence. */

/** Resolves with the name of the next SIGTERM or SIGINT, then stops listening for them. */
export function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (name: string) => () => {
      process.off("SIGTERM", term);
      process.off("SIGINT", int);
      resolve(name);
    };
    const term = on("SIGTERM");
    const int = on("SIGINT");
    process.on("SIGTERM", term);
    process.on("SIGINT", int);
  });
}
