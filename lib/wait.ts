/**
 * Waiting, in one place: a plain delay and one polling loop (Gateway API conformance's "eventually"),
 * used by the conformance suite, the benchmarks and the tests. Every wait is bounded in time.
 */

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface PollOptions {
  /** Give up after this long (default 5 s). */
  withinMs?: number;
  /** Pause between tries (default 50 ms). */
  intervalMs?: number;
  /** The condition must hold this many tries in a row (default 1). */
  times?: number;
}

/**
 * Reads `read()` until `ok(value)` holds `times` tries in a row or `withinMs` passes, and returns the
 * last value either way (so the caller's assertion shows what was seen). A throwing `read` counts as
 * a failed try; if the last try threw, that error is thrown.
 */
export async function poll<T>(
  read: () => T | Promise<T>,
  ok: (value: T) => boolean,
  opts: PollOptions = {},
): Promise<T> {
  const { withinMs = 5000, intervalMs = 50, times = 1 } = opts;
  const deadline = Date.now() + withinMs;
  let streak = 0;
  for (;;) {
    let value: T | undefined;
    let failure: unknown;
    let good = false;
    try {
      value = await read();
      good = ok(value);
    } catch (err) {
      failure = err;
    }
    streak = good ? streak + 1 : 0;
    if (streak >= times || Date.now() >= deadline) {
      if (!good && failure !== undefined) throw failure;
      return value as T;
    }
    if (!good) await sleep(intervalMs);
  }
}

/**
 * Waits until `cond()` is true (`times` tries in a row); throws "`what`: not true within N ms" (with
 * the last error, if the condition threw) when it does not come.
 */
export async function waitUntil(
  what: string,
  cond: () => boolean | Promise<boolean>,
  opts: PollOptions = {},
): Promise<void> {
  const withinMs = opts.withinMs ?? 5000;
  let last = "condition false";
  const held = await poll(
    async () => {
      try {
        return await cond();
      } catch (err) {
        last = String((err as Error).message ?? err);
        return false;
      }
    },
    (v) => v,
    opts,
  );
  if (!held) throw new Error(`${what}: not true within ${withinMs} ms (last: ${last})`);
}
