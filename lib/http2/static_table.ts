/**
 * The HPACK static table (RFC 7541 Appendix A): 61 entries, index 1 first. `STATIC_NAMES[i - 1]` and
 * `STATIC_VALUES[i - 1]` are entry i. The maps give the encoder its lookups without a scan.
 */
const ENTRIES: ReadonlyArray<readonly [string, string]> = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

export const STATIC_TABLE_LENGTH = ENTRIES.length;
export const STATIC_NAMES: readonly string[] = ENTRIES.map((e) => e[0]);
export const STATIC_VALUES: readonly string[] = ENTRIES.map((e) => e[1]);

/** The encoder's lookup: name -> the index of its first entry, and value -> index of an exact entry. */
export interface StaticName {
  index: number;
  values: Map<string, number>;
}

export const STATIC_LOOKUP: ReadonlyMap<string, StaticName> = (() => {
  const map = new Map<string, StaticName>();
  ENTRIES.forEach(([name, value], i) => {
    let entry = map.get(name);
    if (entry === undefined) {
      entry = { index: i + 1, values: new Map() };
      map.set(name, entry);
    }
    if (value !== "") entry.values.set(value, i + 1);
  });
  return map;
})();
