/**
 * Byte-level BPE encoding and decoding, saved and loaded as a Hugging Face
 * tokenizer.json ("model": {"type": "BPE", "vocab", "merges"} with ByteLevel
 * pre-tokenizer and decoder), so files trained here load in HF tokenizers and
 * GPT-2-style files trained there load here.
 *
 * Encoding: pre-tokenise (pretokenize.ts), then per piece repeatedly merge the
 * adjacent pair of lowest merge rank; results are cached per piece string.
 */
import { createHash } from "node:crypto";
import { BYTE_TO_UNICODE, bytesToSymbol, symbolToBytes } from "./byte-unicode.js";
import { pretokenize } from "./pretokenize.js";
import type { Tokenizer } from "./tokenizer.js";

/** Pair key of two token ids (ids < 2^21). */
export const pairKey = (a: number, b: number): number => a * 0x200000 + b;
const MAX_ID = 0x200000;
const CACHE_LIMIT = 1 << 18;

export class BpeFormatError extends Error {
  override readonly name = "BpeFormatError";
}

/** A merge: the ids of its left and right parts (ranked by position in the list). */
export type Merge = readonly [left: number, right: number];

export class BpeTokenizer implements Tokenizer {
  readonly kind = "bpe" as const;
  readonly vocabSize: number;
  readonly hash: string;
  /** Token id of each byte value. */
  private readonly byteIds: Uint32Array;
  /** pairKey → merge rank. */
  private readonly ranks = new Map<number, number>();
  /** Merge rank → id of the merged token. */
  private readonly mergedIds: Uint32Array;
  private readonly mergeList: readonly Merge[];
  /** Token id → the bytes it decodes to. */
  private readonly tokenBytes: Uint8Array[];
  private readonly cache = new Map<string, Uint32Array>();
  private readonly encoder = new TextEncoder();

  /**
   * `tokens[id]` are the bytes of token id; `merges[r] = [a, b]` merges ids a and
   * b into the token whose bytes are their concatenation.
   */
  constructor(tokens: readonly Uint8Array[], merges: readonly Merge[]) {
    if (tokens.length >= MAX_ID) throw new BpeFormatError(`vocabulary of ${tokens.length} tokens exceeds ${MAX_ID}`);
    this.vocabSize = tokens.length;
    this.tokenBytes = tokens.map((t) => t.slice());
    const byId = new Map<string, number>();
    tokens.forEach((t, id) => {
      const key = bytesToSymbol(t);
      if (byId.has(key)) throw new BpeFormatError(`token ${JSON.stringify(key)} appears twice (ids ${byId.get(key)} and ${id})`);
      byId.set(key, id);
    });
    this.byteIds = new Uint32Array(256);
    for (let b = 0; b < 256; b++) {
      const id = byId.get(BYTE_TO_UNICODE[b]);
      if (id === undefined) throw new BpeFormatError(`byte 0x${b.toString(16).padStart(2, "0")} has no token`);
      this.byteIds[b] = id;
    }
    this.mergedIds = new Uint32Array(merges.length);
    this.mergeList = merges.map(([a, b]) => [a, b] as const);
    merges.forEach(([a, b], rank) => {
      if (!(a >= 0 && a < tokens.length && b >= 0 && b < tokens.length)) {
        throw new BpeFormatError(`merge ${rank} refers to an id outside the vocabulary`);
      }
      const joined = bytesToSymbol(tokens[a]) + bytesToSymbol(tokens[b]);
      const merged = byId.get(joined);
      if (merged === undefined) throw new BpeFormatError(`merge ${rank} produces ${JSON.stringify(joined)}, which is not in the vocabulary`);
      const key = pairKey(a, b);
      if (!this.ranks.has(key)) this.ranks.set(key, rank); // a repeated merge never fires: the first rank wins
      this.mergedIds[rank] = merged;
    });
    this.hash = createHash("sha256").update(this.toJSON()).digest("hex");
  }

  get mergeCount(): number {
    return this.mergedIds.length;
  }

  /** The merges in rank order, as token ids. */
  merges(): Merge[] {
    return [...this.mergeList];
  }

  encode(bytes: Uint8Array): Uint32Array {
    let out = new Uint32Array(Math.max(16, bytes.length >>> 1));
    let n = 0;
    const push = (ids: Uint32Array): void => {
      if (n + ids.length > out.length) {
        const grown = new Uint32Array(Math.max(out.length * 2, n + ids.length));
        grown.set(out.subarray(0, n));
        out = grown;
      }
      out.set(ids, n);
      n += ids.length;
    };
    const single = new Uint32Array(1);
    pretokenize(bytes, (piece) => {
      if (typeof piece === "number") {
        single[0] = this.byteIds[piece];
        push(single);
      } else push(this.encodePiece(piece));
    });
    return out.slice(0, n);
  }

  /** Token ids of one pre-tokenised piece (cached). */
  encodePiece(piece: string): Uint32Array {
    const hit = this.cache.get(piece);
    if (hit !== undefined) return hit;
    const ids = this.mergeBytes(this.encoder.encode(piece));
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(piece, ids);
    return ids;
  }

  /** Apply merges in rank order to one piece's bytes. */
  private mergeBytes(bytes: Uint8Array): Uint32Array {
    const syms: number[] = new Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) syms[i] = this.byteIds[bytes[i]];
    let len = syms.length;
    while (len > 1) {
      let bestRank = Infinity;
      let bestLeft = -1;
      let bestRight = -1;
      for (let i = 0; i + 1 < len; i++) {
        const r = this.ranks.get(pairKey(syms[i], syms[i + 1]));
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          bestLeft = syms[i];
          bestRight = syms[i + 1];
        }
      }
      if (bestRank === Infinity) break;
      // Merge every occurrence of the best pair, left to right, non-overlapping.
      const merged = this.mergedIds[bestRank];
      let w = 0;
      for (let i = 0; i < len; i++) {
        if (i + 1 < len && syms[i] === bestLeft && syms[i + 1] === bestRight) {
          syms[w++] = merged;
          i++;
        } else syms[w++] = syms[i];
      }
      len = w;
    }
    const out = new Uint32Array(len);
    for (let i = 0; i < len; i++) out[i] = syms[i];
    return out;
  }

  decode(ids: ArrayLike<number>): Uint8Array {
    let total = 0;
    for (let i = 0; i < ids.length; i++) total += this.tokenByteLength(ids[i]);
    const out = new Uint8Array(total);
    let p = 0;
    for (let i = 0; i < ids.length; i++) {
      const t = this.tokenBytes[ids[i]];
      out.set(t, p);
      p += t.length;
    }
    return out;
  }

  tokenByteLength(id: number): number {
    const t = this.tokenBytes[id];
    if (t === undefined) throw new RangeError(`token id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
    return t.length;
  }

  /** tokenizer.json text (HF format). Deterministic: equal tokenizers give equal text. */
  toJSON(): string {
    const vocab: Record<string, number> = {};
    this.tokenBytes.forEach((t, id) => (vocab[bytesToSymbol(t)] = id));
    const merges = this.merges().map(([a, b]) => `${bytesToSymbol(this.tokenBytes[a])} ${bytesToSymbol(this.tokenBytes[b])}`);
    const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
    return JSON.stringify({
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: null,
      decoder: byteLevel,
      model: {
        type: "BPE",
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        vocab,
        merges,
      },
    });
  }

  /** Parse tokenizer.json text; throws BpeFormatError saying what is wrong. */
  static fromJSON(text: string): BpeTokenizer {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new BpeFormatError(`not JSON: ${(e as Error).message}`);
    }
    const model = (doc as { model?: unknown })?.model as { type?: unknown; vocab?: unknown; merges?: unknown } | undefined;
    if (!model || model.type !== "BPE") throw new BpeFormatError(`expected "model": {"type": "BPE", ...}`);
    const vocab = model.vocab;
    if (!vocab || typeof vocab !== "object" || Array.isArray(vocab)) throw new BpeFormatError(`"model.vocab" must be an object`);
    if (!Array.isArray(model.merges)) throw new BpeFormatError(`"model.merges" must be an array`);
    const entries = Object.entries(vocab as Record<string, unknown>);
    const tokens: Uint8Array[] = new Array(entries.length);
    const idOf = new Map<string, number>();
    for (const [symbol, id] of entries) {
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= entries.length) {
        throw new BpeFormatError(`vocab entry ${JSON.stringify(symbol)} has id ${JSON.stringify(id)}; ids must be 0..${entries.length - 1}`);
      }
      const bytes = symbolToBytes(symbol);
      if (bytes === null) throw new BpeFormatError(`vocab entry ${JSON.stringify(symbol)} is not a byte-level token (special tokens are not supported)`);
      if (tokens[id] !== undefined) throw new BpeFormatError(`id ${id} is used twice in the vocab`);
      tokens[id] = bytes;
      idOf.set(symbol, id);
    }
    const merges: Merge[] = (model.merges as unknown[]).map((m, rank) => {
      const parts = typeof m === "string" ? m.split(" ") : m;
      if (!Array.isArray(parts) || parts.length !== 2) throw new BpeFormatError(`merge ${rank} is not a pair: ${JSON.stringify(m)}`);
      const a = idOf.get(String(parts[0]));
      const b = idOf.get(String(parts[1]));
      if (a === undefined || b === undefined) throw new BpeFormatError(`merge ${rank} ${JSON.stringify(m)} uses a token missing from the vocab`);
      return [a, b];
    });
    return new BpeTokenizer(tokens, merges);
  }
}
