/** What the data pipeline, metrics and sampling need from a tokenizer. */
export interface Tokenizer {
  readonly kind: "bytes" | "bpe";
  readonly vocabSize: number;
  /** sha256 (hex) identifying this exact tokenizer: part of token-cache keys. */
  readonly hash: string;
  /** Any bytes, including invalid UTF-8 and NUL, encode losslessly. */
  encode(bytes: Uint8Array): Uint32Array;
  decode(ids: ArrayLike<number>): Uint8Array;
  /** How many bytes token `id` decodes to (for validation bits per byte). */
  tokenByteLength(id: number): number;
}

/** Total decoded byte length of a run of token ids. */
export function decodedByteLength(tokenizer: Tokenizer, ids: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < ids.length; i++) n += tokenizer.tokenByteLength(ids[i]);
  return n;
}
