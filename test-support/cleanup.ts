/**
 * Per-test cleanup: what a test opens (servers, proxies, pools) is closed after it, even when an
 * assertion failed halfway.
 */
import { afterEach } from "vitest";

/**
 * Returns `defer(fn)`: `fn` runs after the current test of the calling file, the last deferred
 * first (so a proxy closes before the upstream it was started in front of).
 */
export function useCleanup(): (fn: () => unknown) => void {
  const pending: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of pending.splice(0).reverse()) await fn();
  });
  return (fn) => {
    pending.push(fn);
  };
}
