/**
 * HPACK Huffman coding (RFC 7541 5.2, Appendix B). Decoding walks a 4-bit-per-step state machine built
 * once from the code table (nghttp2's approach): a nibble emits at most one octet, since the shortest
 * code is 5 bits. Encoding is used only when it is shorter than the raw string.
 */
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from "./huffman_table.js";

const EOS = 256;

/** Thrown on EOS in a string, padding longer than 7 bits, or padding not all ones (RFC 7541 5.2). */
export class HuffmanError extends Error {}

// The decoding trie: internal nodes 0..255 (0 the root); child >= 0 is a node, child < 0 is the leaf ~sym.
const left = new Int32Array(256);
const right = new Int32Array(256);
// Per node: true when ending a string here is valid (root, or a run of at most 7 one-bits).
const accepting = new Uint8Array(256);

function buildTrie(): void {
  let next = 1;
  const codes = [...HUFFMAN_CODES, 0x3fffffff];
  const lengths = [...HUFFMAN_LENGTHS, 30];
  for (let sym = 0; sym <= EOS; sym++) {
    const code = codes[sym] as number;
    const len = lengths[sym] as number;
    let node = 0;
    for (let bit = len - 1; bit >= 0; bit--) {
      const one = (code >>> bit) & 1;
      const children = one === 1 ? right : left;
      if (bit === 0) {
        children[node] = ~sym;
      } else {
        if (children[node] === 0) children[node] = next++;
        node = children[node] as number;
      }
    }
  }
  // The all-ones path: nodes at depth 1..7 reached by 1-bits only are valid padding.
  accepting[0] = 1;
  let node = 0;
  for (let depth = 1; depth <= 7; depth++) {
    node = right[node] as number;
    accepting[node] = 1;
  }
}

// The nibble machine: for state s and nibble n, entry s * 16 + n holds the next state, the emitted
// octet (or -1), and whether the result is a failure (EOS decoded).
const nextState = new Uint8Array(256 * 16);
const emitted = new Int16Array(256 * 16);
const failed = new Uint8Array(256 * 16);

function buildMachine(): void {
  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let sym = -1;
      let fail = 0;
      for (let bit = 3; bit >= 0; bit--) {
        const child = (((nibble >>> bit) & 1) === 1 ? right : left)[node] as number;
        if (child < 0) {
          if (~child === EOS) fail = 1;
          sym = ~child;
          node = 0;
        } else {
          node = child;
        }
      }
      const i = state * 16 + nibble;
      nextState[i] = node;
      emitted[i] = fail === 1 ? -1 : sym;
      failed[i] = fail;
    }
  }
}

buildTrie();
buildMachine();

// Decoded strings are at most 8/5 of the input; a shared scratch avoids an allocation per string.
let scratch = Buffer.allocUnsafe(4096);

/** Decodes `src[start, end)` to a latin1 string. Throws HuffmanError. */
export function huffmanDecode(src: Uint8Array, start: number, end: number): string {
  const max = ((end - start) * 8) / 5 + 1;
  if (scratch.length < max) scratch = Buffer.allocUnsafe(Math.max(max, scratch.length * 2));
  const out = scratch;
  let n = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const octet = src[i] as number;
    let k = state * 16 + (octet >>> 4);
    if (failed[k] === 1) throw new HuffmanError("EOS in a Huffman string");
    let sym = emitted[k] as number;
    if (sym >= 0) out[n++] = sym;
    state = nextState[k] as number;
    k = state * 16 + (octet & 0xf);
    if (failed[k] === 1) throw new HuffmanError("EOS in a Huffman string");
    sym = emitted[k] as number;
    if (sym >= 0) out[n++] = sym;
    state = nextState[k] as number;
  }
  if (accepting[state] !== 1) throw new HuffmanError("bad Huffman padding");
  return out.toString("latin1", 0, n);
}

/** The Huffman-encoded length of a latin1 string, in octets. */
export function huffmanLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += HUFFMAN_LENGTHS[s.charCodeAt(i) & 0xff] as number;
  return (bits + 7) >>> 3;
}

/** Writes the Huffman code of `s` at `dst[offset]`; returns the offset after it. */
export function huffmanEncode(s: string, dst: Uint8Array, offset: number): number {
  // Pending bits stay below 8 between codes; a code is appended in parts of at most 24 bits, so the
  // accumulator stays below 2^31 and integer bit operations are exact.
  let acc = 0;
  let nbits = 0;
  let o = offset;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) & 0xff;
    let len = HUFFMAN_LENGTHS[c] as number;
    const code = HUFFMAN_CODES[c] as number;
    if (len > 24) {
      acc = (acc << (len - 16)) | (code >>> 16);
      nbits += len - 16;
      while (nbits >= 8) {
        nbits -= 8;
        dst[o++] = (acc >>> nbits) & 0xff;
      }
      acc &= (1 << nbits) - 1;
      len = 16;
    }
    acc = (acc << len) | (code & ((1 << len) - 1));
    nbits += len;
    while (nbits >= 8) {
      nbits -= 8;
      dst[o++] = (acc >>> nbits) & 0xff;
    }
    acc &= (1 << nbits) - 1;
  }
  // Padding: the most significant bits of EOS, all ones (RFC 7541 5.2).
  if (nbits > 0) dst[o++] = ((acc << (8 - nbits)) | (0xff >>> nbits)) & 0xff;
  return o;
}
