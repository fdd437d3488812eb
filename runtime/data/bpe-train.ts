/**
 * Byte-level BPE training. Pieces (pretokenize.ts) are counted once; each
 * distinct piece becomes a symbol sequence weighted by its count. Pair counts
 * live in a map and a lazy max-heap; a merge revisits only the pieces that
 * contain the merged pair (an index pair → pieces), so each step costs time
 * proportional to the pair's occurrences, not to the corpus.
 *
 * Ties between equally frequent pairs go to the smaller (left id, right id),
 * which makes training deterministic. Ids 0..255 are the bytes in byte order;
 * merge r creates id 256 + r.
 */
import { BpeTokenizer, pairKey, type Merge } from "./bpe.js";
import { pretokenize } from "./pretokenize.js";

export interface BpeTrainOptions {
  /** Final vocabulary size, ≥ 256 (the bytes) — merges = vocabSize − 256 at most. */
  readonly vocabSize: number;
  /** Stop early when the best pair occurs fewer times than this (default 2). */
  readonly minFrequency?: number;
}

/** Max-heap of (count, pair key): higher count first, then smaller key. Entries may be stale. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private better(i: number, j: number): boolean {
    const ci = this.counts[i];
    const cj = this.counts[j];
    return ci > cj || (ci === cj && this.keys[i] < this.keys[j]);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.better(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Remove the top entry and return [count, key]. */
  pop(): [number, number] {
    const top: [number, number] = [this.counts[0], this.keys[0]];
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < this.counts.length && this.better(l, best)) best = l;
        if (r < this.counts.length && this.better(r, best)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }
}

/** Count the pre-tokenised pieces of a corpus given as one or more chunks. */
export function countPieces(chunks: Iterable<Uint8Array>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const chunk of chunks) {
    pretokenize(chunk, (piece) => {
      if (typeof piece === "string") counts.set(piece, (counts.get(piece) ?? 0) + 1);
    });
  }
  return counts;
}

/** Learn merges from piece counts (see countPieces) up to `vocabSize` tokens. */
export function trainBpeFromCounts(pieceCounts: ReadonlyMap<string, number>, options: BpeTrainOptions): BpeTokenizer {
  const { vocabSize } = options;
  const minFrequency = options.minFrequency ?? 2;
  if (!Number.isInteger(vocabSize) || vocabSize < 256) throw new RangeError(`BPE vocab must be an integer ≥ 256, got ${vocabSize}`);

  const encoder = new TextEncoder();
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [piece, count] of pieceCounts) {
    const bytes = encoder.encode(piece);
    if (bytes.length < 2) continue; // a single byte never takes part in a pair
    words.push(Array.from(bytes));
    freqs.push(count);
  }

  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (w: number, sign: 1 | -1, delta: Map<number, number>): void => {
    const syms = words[w];
    const f = freqs[w] * sign;
    for (let i = 0; i + 1 < syms.length; i++) {
      const key = pairKey(syms[i], syms[i + 1]);
      delta.set(key, (delta.get(key) ?? 0) + f);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (set === undefined) pairWords.set(key, (set = new Set()));
        set.add(w);
      }
    }
  };

  const initial = new Map<number, number>();
  for (let w = 0; w < words.length; w++) addPairs(w, 1, initial);
  const heap = new PairHeap();
  for (const [key, count] of initial) {
    pairCounts.set(key, count);
    heap.push(count, key);
  }

  const tokens: Uint8Array[] = [];
  for (let b = 0; b < 256; b++) tokens.push(Uint8Array.of(b));
  const merges: Merge[] = [];

  while (tokens.length < vocabSize && heap.size > 0) {
    const [count, key] = heap.pop();
    const current = pairCounts.get(key) ?? 0;
    if (count !== current) {
      if (current > 0) heap.push(current, key); // stale entry: counts only ever drop
      continue;
    }
    if (current < minFrequency) break;
    const left = Math.floor(key / 0x200000);
    const right = key % 0x200000;
    const merged = tokens.length;
    const joined = new Uint8Array(tokens[left].length + tokens[right].length);
    joined.set(tokens[left]);
    joined.set(tokens[right], tokens[left].length);
    tokens.push(joined);
    merges.push([left, right]);

    const delta = new Map<number, number>();
    const affected = pairWords.get(key);
    pairWords.delete(key);
    for (const w of affected ?? []) {
      const syms = words[w];
      let found = false;
      for (let i = 0; i + 1 < syms.length; i++) {
        if (syms[i] === left && syms[i + 1] === right) {
          found = true;
          break;
        }
      }
      if (!found) continue; // the index is lazy: an earlier merge removed the pair here
      addPairs(w, -1, delta);
      const next: number[] = [];
      for (let i = 0; i < syms.length; i++) {
        if (i + 1 < syms.length && syms[i] === left && syms[i + 1] === right) {
          next.push(merged);
          i++;
        } else next.push(syms[i]);
      }
      words[w] = next;
      addPairs(w, 1, delta);
    }
    for (const [k, d] of delta) {
      if (d === 0) continue;
      const updated = (pairCounts.get(k) ?? 0) + d;
      if (updated > 0) pairCounts.set(k, updated);
      else pairCounts.delete(k);
      if (d > 0) heap.push(updated, k); // only pairs with the new token grow
    }
  }
  return new BpeTokenizer(tokens, merges);
}

/** Train a byte-level BPE tokenizer on a corpus given as one or more chunks. */
export function trainBpe(chunks: Iterable<Uint8Array>, options: BpeTrainOptions): BpeTokenizer {
  return trainBpeFromCounts(countPieces(chunks), options);
}
