/**
 * Train/validation split of a token stream: the last `valFraction` of the
 * tokens (floor(total × valFraction)) are validation, everything before is
 * training. Deterministic, and no window ever straddles the boundary.
 */
export interface Split {
  /** First token of the split in the stream. */
  readonly start: number;
  /** Tokens in the split. */
  readonly length: number;
}

export function splitStream(totalTokens: number, valFraction: number): { train: Split; val: Split } {
  if (!(valFraction >= 0 && valFraction < 1)) throw new RangeError(`validation fraction must be in [0, 1), got ${valFraction}`);
  const valLength = Math.floor(totalTokens * valFraction);
  const trainLength = totalTokens - valLength;
  return { train: { start: 0, length: trainLength }, val: { start: trainLength, length: valLength } };
}
