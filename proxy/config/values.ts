/**
 * Scalar conversions shared by both dialects. Each returns the value, or a string describing the
 * problem (the caller prefixes the path).
 */

/** Node's timers overflow above this (a longer delay fires after 1 ms), so longer durations clamp. */
export const MAX_TIMER_MS = 2_147_483_647;

export type Result<T> = { ok: true; value: T } | { ok: false; problem: string };

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const bad = <T>(problem: string): Result<T> => ({ ok: false, problem });

const DURATION = /^(\d+)(?:\.(\d{1,9}))?s$/;
const OTHER_UNIT = /^(\d+(?:\.\d+)?)(ms|us|ns|m|h)$/;
const UNIT_SECONDS: Record<string, number> = { ms: 1e-3, us: 1e-6, ns: 1e-9, m: 60, h: 3600 };

/**
 * A protobuf Duration in its JSON form: a string of seconds with an `s` suffix (`"0.25s"`, `"15s"`)
 * or an object `{seconds, nanos}`; converted to whole milliseconds (a non-zero duration shorter than
 * 1 ms becomes 1 ms, so it never turns into "disabled"). Other units (`100ms`, `5m`) are rejected, as
 * Envoy rejects them, with the equivalent spelled in seconds as a hint.
 */
export function parseDuration(value: unknown): Result<number> {
  if (typeof value === "string") {
    const m = DURATION.exec(value);
    if (m !== null) {
      const nanos = m[2] === undefined ? 0 : Number(m[2].padEnd(9, "0"));
      return ok(toMs(Number(m[1]), nanos));
    }
    const other = OTHER_UNIT.exec(value);
    if (other !== null) {
      const seconds = Number(other[1]) * (UNIT_SECONDS[other[2] as string] as number);
      return bad(
        `invalid duration ${JSON.stringify(value)} (durations are seconds with an "s" suffix: "${+seconds.toFixed(9)}s")`,
      );
    }
    return bad(
      `invalid duration ${JSON.stringify(value)} (expected seconds with an "s" suffix, e.g. "0.25s")`,
    );
  }
  if (typeof value === "number") {
    return bad(`invalid duration ${value} (durations are strings with an "s" suffix: "${value}s")`);
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (key !== "seconds" && key !== "nanos") return bad(`invalid duration: unknown field "${key}"`);
    }
    const seconds = parseInteger(record.seconds ?? 0, 0, 315_576_000_000);
    const nanos = parseInteger(record.nanos ?? 0, 0, 999_999_999);
    if (!seconds.ok) return bad(`invalid duration seconds: ${seconds.problem}`);
    if (!nanos.ok) return bad(`invalid duration nanos: ${nanos.problem}`);
    return ok(toMs(seconds.value, nanos.value));
  }
  return bad(`invalid duration (expected a string like "0.25s")`);
}

function toMs(seconds: number, nanos: number): number {
  if (seconds === 0 && nanos === 0) return 0;
  const ms = Math.round(seconds * 1000 + nanos / 1e6);
  return Math.min(Math.max(ms, 1), MAX_TIMER_MS);
}

/** An integer in [min, max]; protobuf JSON also allows integers written as strings (`"80"`). */
export function parseInteger(value: unknown, min: number, max: number): Result<number> {
  let n: number;
  if (typeof value === "number") n = value;
  else if (typeof value === "string" && /^-?\d+$/.test(value)) n = Number(value);
  else
    return bad(
      `expected an integer, got ${typeof value === "string" ? JSON.stringify(value) : typeof value}`,
    );
  if (!Number.isInteger(n)) return bad(`expected an integer, got ${n}`);
  if (n < min || n > max) return bad(`${n} is out of range [${min}, ${max}]`);
  return ok(n);
}
