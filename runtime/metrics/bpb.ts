/**
 * Validation bits per byte: total cross-entropy in bits divided by the bytes
 * the evaluated target tokens decode to,
 *   bpb = (mean CE in nats per token × tokens) / (ln 2 × bytes).
 * Byte-level: bytes = tokens. BPE: bytes = decodedByteLength(tokenizer, targets).
 */
export function bitsPerByte(meanNatsPerToken: number, tokens: number, bytes: number): number {
  if (!(bytes > 0)) throw new RangeError(`bits per byte needs a positive byte count, got ${bytes}`);
  return (meanNatsPerToken * tokens) / (Math.LN2 * bytes);
}

/** Sums evaluation batches: add each batch's summed CE (nats), tokens and bytes. */
export class BpbAccumulator {
  private nats = 0;
  private tokenCount = 0;
  private byteCount = 0;

  add(sumNats: number, tokens: number, bytes: number): void {
    this.nats += sumNats;
    this.tokenCount += tokens;
    this.byteCount += bytes;
  }

  get tokens(): number {
    return this.tokenCount;
  }

  get bytes(): number {
    return this.byteCount;
  }

  /** Mean cross-entropy in nats per token. */
  meanLoss(): number {
    return this.nats / this.tokenCount;
  }

  bitsPerByte(): number {
    return bitsPerByte(this.meanLoss(), this.tokenCount, this.byteCount);
  }
}
