/**
 * Parsers for the human-friendly values used by flags, env vars and request controls.
 * Both return `undefined` for anything they do not understand, so callers can name the bad input.
 */

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** `1024`, `64k`, `10MiB`, `1.5mb` -> bytes (integer). Plain numbers are bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = SIZE_UNITS[(m[2] ?? "").toLowerCase()];
  if (unit === undefined) return undefined;
  const value = Math.floor(Number(m[1]) * unit);
  return Number.isSafeInteger(value) ? value : undefined;
}

const DURATION_UNITS: Record<string, number> = { "": 1, us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `200`, `200ms`, `1.5s`, `2m`, `1s500ms` (Go-style) -> milliseconds. Plain numbers are milliseconds. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim().toLowerCase();
  if (s === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const re = /(\d+(?:\.\d+)?)(us|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * (DURATION_UNITS[m[2] ?? ""] ?? 1);
    pos = re.lastIndex;
  }
  return total;
}
