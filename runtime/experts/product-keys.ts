/**
 * Product-key top-k (Lample et al. 2019; He 2024 Eq. 5), computed in JS on
 * gradient-free copies of the per-half scores. For each query row:
 *   top-k' of the √N first-half scores, top-k' of the √N second-half scores,
 *   the k'² sums of the two, and the top-k of those; expert id = i·√N + j.
 * With k' ≥ k this is exactly the top-k over all N = √N·√N concatenated keys.
 * Only √N scores per half are ever computed, never N.
 *
 * Ties are broken towards the lower sub-key index, then the lower id, so the
 * selection is deterministic.
 */
import { runSplit, scratch, sharedFloat32, sharedInt32, splitRange, threadsFor } from "./kernel-pool.js";

export interface ProductKeyHits {
  readonly rows: number;
  readonly topk: number;
  /** First-half sub-key index i of each hit, [rows · topk], best first within a row. */
  readonly first: Int32Array;
  /** Second-half sub-key index j, same layout. */
  readonly second: Int32Array;
  /** Expert id i·√N + j, same layout. */
  readonly ids: Int32Array;
  /** Scores s1[i] + s2[j] (for tests; the layer recomputes them differentiably). */
  readonly scores: Float32Array;
}

/** Where productKeyTopkInto writes a range of rows' hits (each [rows · topk]). */
export interface ProductKeyOutputs {
  readonly first: Int32Array;
  readonly second: Int32Array;
  readonly ids: Int32Array;
  readonly scores: Float32Array;
}

/** The top-k over one share of the rows, for a pool worker (kernel-jobs.ts runs it). */
export interface TopkJob {
  readonly kind: "topk";
  readonly scores1: Float32Array;
  readonly scores2: Float32Array;
  readonly rows: number;
  readonly subKeys: number;
  readonly subTopk: number;
  readonly topk: number;
  readonly out: ProductKeyOutputs;
}

/**
 * scores1, scores2: [rows, subKeys] row-major. Requires 1 ≤ topk ≤ subTopk² and
 * subTopk ≤ subKeys. Rows are independent: with expert threads (kernel-pool.ts)
 * and enough rows they are split over the workers, with the same result.
 */
export function productKeyTopk(
  scores1: Float32Array,
  scores2: Float32Array,
  rows: number,
  subKeys: number,
  subTopk: number,
  topk: number,
): ProductKeyHits {
  if (subTopk < 1 || subTopk > subKeys) throw new Error(`sub top-k ${subTopk} must be in [1, ${subKeys}]`);
  if (topk < 1 || topk > subTopk * subTopk) throw new Error(`top-k ${topk} must be in [1, ${subTopk * subTopk}]`);
  // Work: one comparison per score of each half.
  const parts = threadsFor(rows * subKeys, rows);
  if (parts === 1) {
    const out = { first: new Int32Array(rows * topk), second: new Int32Array(rows * topk), ids: new Int32Array(rows * topk), scores: new Float32Array(rows * topk) };
    productKeyTopkInto(scores1, scores2, rows, subKeys, subTopk, topk, out);
    return { rows, topk, ...out };
  }
  const out = { first: sharedInt32(rows * topk), second: sharedInt32(rows * topk), ids: sharedInt32(rows * topk), scores: sharedFloat32(rows * topk) };
  const ranges = splitRange(rows, parts);
  // The caller's share reads the scores where they are (often a wasm heap view); the workers' shares are copied to shared scratch.
  const [localFrom, localTo] = ranges[0]!;
  const workerRows = rows - localTo;
  const s1 = new Float32Array(scratch("topk.scores1", workerRows * subKeys * 4), 0, workerRows * subKeys);
  const s2 = new Float32Array(scratch("topk.scores2", workerRows * subKeys * 4), 0, workerRows * subKeys);
  s1.set(scores1.subarray(localTo * subKeys, rows * subKeys));
  s2.set(scores2.subarray(localTo * subKeys, rows * subKeys));
  const view = (from: number, to: number): ProductKeyOutputs => ({
    first: out.first.subarray(from * topk, to * topk),
    second: out.second.subarray(from * topk, to * topk),
    ids: out.ids.subarray(from * topk, to * topk),
    scores: out.scores.subarray(from * topk, to * topk),
  });
  const jobs: TopkJob[] = ranges.map(([from, to]) => ({
    kind: "topk",
    scores1: s1.subarray((from - localTo) * subKeys, (to - localTo) * subKeys),
    scores2: s2.subarray((from - localTo) * subKeys, (to - localTo) * subKeys),
    rows: to - from, subKeys, subTopk, topk, out: view(from, to),
  }));
  runSplit(jobs, () =>
    productKeyTopkInto(scores1.subarray(0, localTo * subKeys), scores2.subarray(0, localTo * subKeys), localTo - localFrom, subKeys, subTopk, topk, view(localFrom, localTo)),
  );
  return { rows, topk, ...out };
}

/** The search over `rows` rows into `out` (one thread; arguments already checked). */
export function productKeyTopkInto(
  scores1: Float32Array,
  scores2: Float32Array,
  rows: number,
  subKeys: number,
  subTopk: number,
  topk: number,
  out: ProductKeyOutputs,
): void {
  const { first, second, ids, scores } = out;
  const val1 = new Float64Array(subTopk);
  const idx1 = new Int32Array(subTopk);
  const val2 = new Float64Array(subTopk);
  const idx2 = new Int32Array(subTopk);
  const bestVal = new Float64Array(topk);
  const bestId = new Int32Array(topk);
  for (let r = 0; r < rows; r++) {
    const base = r * subKeys;
    topkOfRow(scores1, base, subKeys, subTopk, val1, idx1);
    topkOfRow(scores2, base, subKeys, subTopk, val2, idx2);
    combineRow(val1, idx1, val2, idx2, subKeys, subTopk, topk, bestVal, bestId);
    const o = r * topk;
    for (let c = 0; c < topk; c++) {
      const id = bestId[c];
      const i = Math.floor(id / subKeys);
      first[o + c] = i;
      second[o + c] = id - i * subKeys;
      ids[o + c] = id;
      scores[o + c] = bestVal[c];
    }
  }
}

/**
 * The top-k of the sums val1[a] + val2[b] of two descending lists into bestVal/bestId
 * (ids idx1[a]·subKeys + idx2[b]), sorted best first.
 */
function combineRow(
  val1: Float64Array, idx1: Int32Array, val2: Float64Array, idx2: Int32Array,
  subKeys: number, subTopk: number, topk: number, bestVal: Float64Array, bestId: Int32Array,
): void {
  let filled = 0;
  for (let a = 0; a < subTopk; a++) {
    // Both lists are sorted descending: once val1[a] + val2[0] cannot enter, no later a can.
    if (filled === topk && val1[a] + val2[0] <= bestVal[topk - 1]) break;
    // Pair (a, b) is beaten by all (a', b') with a' ≤ a, b' ≤ b (ties included: equal
    // values sit in index order), so it can only make the top-k if (a+1)(b+1) ≤ k.
    const bEnd = Math.min(subTopk, Math.floor(topk / (a + 1)));
    if (bEnd === 0) break;
    const i = idx1[a];
    const va = val1[a];
    for (let b = 0; b < bEnd; b++) {
      const s = va + val2[b];
      const id = i * subKeys + idx2[b];
      if (filled === topk && !beats(s, id, bestVal[topk - 1], bestId[topk - 1])) {
        if (s < bestVal[topk - 1]) break; // later b only get smaller
        continue;
      }
      // Insert into the sorted best list.
      let p = filled < topk ? filled++ : topk - 1;
      while (p > 0 && beats(s, id, bestVal[p - 1], bestId[p - 1])) {
        bestVal[p] = bestVal[p - 1];
        bestId[p] = bestId[p - 1];
        p--;
      }
      bestVal[p] = s;
      bestId[p] = id;
    }
  }
}

/** Higher score wins; equal scores go to the lower id. */
function beats(score: number, id: number, otherScore: number, otherId: number): boolean {
  return score > otherScore || (score === otherScore && id < otherId);
}

/** The k largest of values[base … base+n) into vals/idx, sorted descending (ties: lower index first). */
function topkOfRow(values: Float32Array, base: number, n: number, k: number, vals: Float64Array, idx: Int32Array): void {
  // The first k by insertion sort, then each later value only if it beats the current k-th.
  for (let i = 0; i < k; i++) {
    const s = values[base + i];
    let p = i;
    while (p > 0 && s > vals[p - 1]) {
      vals[p] = vals[p - 1];
      idx[p] = idx[p - 1];
      p--;
    }
    vals[p] = s;
    idx[p] = i;
  }
  let floor = vals[k - 1]; // kept in a local: most values fail this test
  for (let i = k; i < n; i++) {
    const s = values[base + i];
    if (s <= floor) continue;
    let p = k - 1;
    while (p > 0 && s > vals[p - 1]) {
      vals[p] = vals[p - 1];
      idx[p] = idx[p - 1];
      p--;
    }
    vals[p] = s;
    idx[p] = i;
    floor = vals[k - 1];
  }
}
