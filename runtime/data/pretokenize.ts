/**
 * GPT-2-style pre-tokenisation over raw bytes. Valid UTF-8 runs are split by
 * the GPT-2 regex; every byte of an invalid sequence becomes a piece of its
 * own, so arbitrary binary input survives an encode/decode round trip (HF
 * tokenizers work on strings and cannot take such input at all).
 */

/** The GPT-2 split pattern: contractions, letter runs, digit runs, punctuation runs, whitespace. */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

// ignoreBOM: a leading U+FEFF is data here, not a marker to strip (the round trip must be exact).
const fatalDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Receives each piece in order: either a string (a regex match on valid
 * UTF-8, whose UTF-8 encoding is exactly the original bytes) or, for a byte
 * of invalid UTF-8, that byte as a number.
 */
export type PieceSink = (piece: string | number) => void;

/** Length of the valid UTF-8 sequence starting at `i`, or 0 if the byte there starts none. */
export function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const n = b.length;
  const cont = (j: number): boolean => j < n && (b[j] & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    const c1 = b[i + 1];
    if (c === 0xe0 && c1 < 0xa0) return 0; // overlong
    if (c === 0xed && c1 >= 0xa0) return 0; // surrogates
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    const c1 = b[i + 1];
    if (c === 0xf0 && c1 < 0x90) return 0; // overlong
    if (c === 0xf4 && c1 >= 0x90) return 0; // above U+10FFFF
    return 4;
  }
  return 0;
}

function splitText(text: string, sink: PieceSink): void {
  GPT2_PATTERN.lastIndex = 0;
  for (const m of text.matchAll(GPT2_PATTERN)) sink(m[0]);
}

/** Split `bytes` into pieces (see PieceSink). */
export function pretokenize(bytes: Uint8Array, sink: PieceSink): void {
  let text: string | null = null;
  try {
    text = fatalDecoder.decode(bytes);
  } catch {
    text = null;
  }
  if (text !== null) {
    splitText(text, sink);
    return;
  }
  let runStart = 0;
  let i = 0;
  while (i < bytes.length) {
    const len = utf8SequenceLength(bytes, i);
    if (len > 0) {
      i += len;
      continue;
    }
    if (i > runStart) splitText(decoder.decode(bytes.subarray(runStart, i)), sink);
    sink(bytes[i]);
    i += 1;
    runStart = i;
  }
  if (i > runStart) splitText(decoder.decode(bytes.subarray(runStart, i)), sink);
}

/** Fraction of bytes that are not part of a valid UTF-8 sequence. */
export function invalidUtf8Fraction(bytes: Uint8Array): number {
  if (bytes.length === 0) return 0;
  let bad = 0;
  let i = 0;
  while (i < bytes.length) {
    const len = utf8SequenceLength(bytes, i);
    if (len === 0) {
      bad += 1;
      i += 1;
    } else i += len;
  }
  return bad / bytes.length;
}

const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/**
 * A cut position ≤ `limit` at which pre-tokenisation of the two halves gives the
 * same pieces as of the whole. Two kinds of point qualify, both after an ASCII
 * non-space byte: before a space that precedes an ASCII non-space ("word| next":
 * no GPT-2 piece contains a non-space followed by a space), and after a lone
 * newline before an ASCII non-space ("line\n|Next": the newline is a piece of
 * its own either way). When neither exists in the last `window` bytes, cuts at
 * the last UTF-8 character boundary ≤ `limit` (pieces may then differ slightly
 * from whole-file pre-tokenisation; the round trip stays exact).
 */
export function safeCut(bytes: Uint8Array, limit: number, window = 1 << 16): number {
  if (limit >= bytes.length) return bytes.length;
  const stop = Math.max(2, limit - window);
  const solid = (c: number): boolean => c < 0x80 && !isSpace(c);
  for (let p = Math.min(limit, bytes.length - 2); p >= stop; p--) {
    const c = bytes[p];
    if (c === 0x20 && solid(bytes[p - 1]) && solid(bytes[p + 1])) return p;
    if (bytes[p - 1] === 0x0a && solid(bytes[p - 2]) && solid(c)) return p;
  }
  let p = limit;
  while (p > 1 && p > limit - 3 && (bytes[p] & 0xc0) === 0x80) p--;
  return p;
}
