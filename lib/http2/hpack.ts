/** HPACK (RFC 7541): the encoder, the decoder and their error, for the connection and for tests. */
export { HpackDecoder, HpackError } from "./hpack_decoder.js";
export { HpackEncoder } from "./hpack_encoder.js";
