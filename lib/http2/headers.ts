/**
 * Header-block validation (RFC 9113 8.2, 8.3; RFC 8441 4), over flat `[name, value...]` arrays in one
 * pass. A malformed request or response is a stream error of type PROTOCOL_ERROR (8.1.1); the caller
 * resets the stream.
 */

/** A return value of the validators: the block is malformed. */
export const MALFORMED = -2;
/** A return value of the validators: well-formed, no content-length. */
export const NO_CONTENT_LENGTH = -1;

// Octets allowed in a field name: tchar (RFC 9110 5.6.2) without upper-case letters (RFC 9113 8.2.1).
const NAME_OK = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") NAME_OK[c.charCodeAt(0)] = 1;

// Connection-specific fields (RFC 9113 8.2.2); `te` is allowed with the value "trailers" only.
const CONNECTION_SPECIFIC = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

const BAD_VALUE = /[\0\r\n]/;

function nameOk(name: string, from: number): boolean {
  if (name.length === from) return false;
  for (let i = from; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 128 || NAME_OK[c] !== 1) return false;
  }
  return true;
}

/**
 * Checks a regular (non-pseudo) field; returns its content-length contribution: NO_CONTENT_LENGTH
 * when not content-length, MALFORMED, or the value.
 */
function regularField(name: string, value: string): number {
  if (!nameOk(name, 0) || BAD_VALUE.test(value)) return MALFORMED;
  if (CONNECTION_SPECIFIC.has(name)) return MALFORMED;
  if (name === "te") return value === "trailers" ? NO_CONTENT_LENGTH : MALFORMED;
  if (name === "content-length") {
    if (value.length === 0 || value.length > 15) return MALFORMED;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c < 48 || c > 57) return MALFORMED;
    }
    return Number(value);
  }
  return NO_CONTENT_LENGTH;
}

/** Folds one field's content-length into the block's; MALFORMED on a disagreement. */
function mergeLength(sofar: number, field: number): number {
  if (field === NO_CONTENT_LENGTH) return sofar;
  if (field === MALFORMED) return MALFORMED;
  if (sofar !== NO_CONTENT_LENGTH && sofar !== field) return MALFORMED;
  return field;
}

/**
 * A request header block. Returns MALFORMED, NO_CONTENT_LENGTH or the content-length. `connectProtocol`:
 * we sent SETTINGS_ENABLE_CONNECT_PROTOCOL=1, so `:protocol` is allowed (RFC 8441 4).
 */
export function validateRequest(fields: readonly string[], connectProtocol: boolean): number {
  let method: string | undefined;
  let scheme: string | undefined;
  let path: string | undefined;
  let authority: string | undefined;
  let protocol: string | undefined;
  let regular = false;
  let length = NO_CONTENT_LENGTH;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] as string;
    const value = fields[i + 1] as string;
    if (name.charCodeAt(0) === 58 /* : */) {
      if (regular || BAD_VALUE.test(value)) return MALFORMED;
      if (name === ":method" && method === undefined) method = value;
      else if (name === ":scheme" && scheme === undefined) scheme = value;
      else if (name === ":path" && path === undefined) path = value;
      else if (name === ":authority" && authority === undefined) authority = value;
      else if (name === ":protocol" && protocol === undefined && connectProtocol) protocol = value;
      else return MALFORMED;
    } else {
      regular = true;
      length = mergeLength(length, regularField(name, value));
      if (length === MALFORMED) return MALFORMED;
    }
  }
  if (method === undefined || method.length === 0) return MALFORMED;
  if (method === "CONNECT" && protocol === undefined) {
    // Plain CONNECT (8.5): only :method and :authority.
    if (scheme !== undefined || path !== undefined || authority === undefined) return MALFORMED;
    return length;
  }
  // Extended CONNECT (RFC 8441 4) needs the full set, as does every other method.
  if (protocol !== undefined && method !== "CONNECT") return MALFORMED;
  if (scheme === undefined || path === undefined || path.length === 0) return MALFORMED;
  return length;
}

/** A response header block: `:status` only, three digits. Returns like validateRequest. */
export function validateResponse(fields: readonly string[]): number {
  let status: string | undefined;
  let regular = false;
  let length = NO_CONTENT_LENGTH;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] as string;
    const value = fields[i + 1] as string;
    if (name.charCodeAt(0) === 58) {
      if (regular || name !== ":status" || status !== undefined) return MALFORMED;
      status = value;
    } else {
      regular = true;
      length = mergeLength(length, regularField(name, value));
      if (length === MALFORMED) return MALFORMED;
    }
  }
  if (status === undefined || !/^[1-9][0-9][0-9]$/.test(status)) return MALFORMED;
  return length;
}

/** A trailer block: regular fields only (8.1). Returns false when malformed. */
export function validateTrailers(fields: readonly string[]): boolean {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] as string;
    if (name.charCodeAt(0) === 58) return false;
    if (regularField(name, fields[i + 1] as string) === MALFORMED) return false;
  }
  return true;
}

/** The `:status` of a response block (validated), as a number. */
export function statusOf(fields: readonly string[]): number {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === ":status") return Number(fields[i + 1]);
  return 0;
}
