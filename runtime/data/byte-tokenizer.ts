/** Byte-level tokenization: token id = byte value, vocabulary 256. */
import { createHash } from "node:crypto";
import type { Tokenizer } from "./tokenizer.js";

export class ByteTokenizer implements Tokenizer {
  readonly kind = "bytes" as const;
  readonly vocabSize = 256;
  readonly hash = createHash("sha256").update("peerc-bytes-v1").digest("hex");

  encode(bytes: Uint8Array): Uint32Array {
    return Uint32Array.from(bytes);
  }

  decode(ids: ArrayLike<number>): Uint8Array {
    const out = new Uint8Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!(id >= 0 && id < 256)) throw new RangeError(`token id ${id} is outside the byte vocabulary [0, 256)`);
      out[i] = id;
    }
    return out;
  }

  tokenByteLength(): number {
    return 1;
  }
}
