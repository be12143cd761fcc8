/**
 * Heads and chunk framing as they go on the wire: one string per head (written with one `write`,
 * latin1), chunk-size lines for chunked bodies.
 */

/** What may not appear in a request line or header (CR, LF, NUL). */
const INVALID = /[\r\n\0]/;

export interface SerializedHead {
  text: string;
  /** The headers carry `content-length` (else a body is sent chunked). */
  hasContentLength: boolean;
}

/**
 * The head of a request as Envoy writes it upstream: `method path HTTP/1.1`, then the headers in their
 * order as given (`host` first, names lower-case: the caller's job), without the blank line that ends
 * the head (the client adds its framing headers first). Null when the path, a name or a value holds a
 * line break or NUL, which would smuggle a header (or a request) in: such a request is refused.
 */
export function requestHead(exchange: {
  method: string;
  path: string;
  headers: readonly string[];
}): SerializedHead | null {
  const { headers } = exchange;
  let text = `${exchange.method} ${exchange.path} HTTP/1.1\r\n`;
  let hasContentLength = false;
  let invalid = INVALID.test(exchange.path);
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    const value = headers[i + 1] as string;
    if (name.length === 14 && name === "content-length") hasContentLength = true;
    if (INVALID.test(value) || INVALID.test(name)) invalid = true;
    text += `${name}: ${value}\r\n`;
  }
  return invalid ? null : { text, hasContentLength };
}

/** The size line that opens a chunk of `length` bytes (the chunk is followed by CHUNK_END). */
export function chunkHeader(length: number): string {
  return `${length.toString(16)}\r\n`;
}

/** What follows a chunk's data. */
export const CHUNK_END = "\r\n";
/** The last chunk and the end of the body (no trailers). */
export const LAST_CHUNK = "0\r\n\r\n";
