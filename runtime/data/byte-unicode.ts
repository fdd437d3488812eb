/**
 * GPT-2's reversible map from bytes to printable unicode characters, so that
 * byte-level vocabulary entries are readable JSON strings: printable Latin-1
 * bytes map to themselves, the other 68 bytes to U+0100 onwards (space → "Ġ").
 */
export const BYTE_TO_UNICODE: readonly string[] = (() => {
  const printable = (b: number): boolean =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCharCode(printable(b) ? b : 256 + extra++);
  }
  return table;
})();

export const UNICODE_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_UNICODE.map((ch, b) => [ch, b]));

/** Bytes → their mapped string (a vocabulary entry). */
export function bytesToSymbol(bytes: ArrayLike<number>): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_UNICODE[bytes[i]];
  return s;
}

/** A vocabulary entry → its bytes, or null if it contains a character outside the map. */
export function symbolToBytes(symbol: string): Uint8Array | null {
  const out = new Uint8Array(symbol.length);
  for (let i = 0; i < symbol.length; i++) {
    const b = UNICODE_TO_BYTE.get(symbol[i]);
    if (b === undefined) return null;
    out[i] = b;
  }
  return out;
}
