/** Small arithmetic helpers shared by the per-kind formulas. */
import type { FlopSplit, FlopTerm, NonFlopWork } from "./types.js";

export function matrix(name: string, flops: number): FlopTerm {
  return { name, matrix: flops, elementwise: 0 };
}

export function elementwise(name: string, flops: number): FlopTerm {
  return { name, matrix: 0, elementwise: flops };
}

export function sumTerms(terms: readonly FlopTerm[]): FlopSplit {
  let m = 0;
  let e = 0;
  for (const t of terms) {
    m += t.matrix;
    e += t.elementwise;
  }
  return { matrix: m, elementwise: e };
}

export function sumBig(values: Readonly<Record<string, bigint>>): bigint {
  let total = 0n;
  for (const v of Object.values(values)) total += v;
  return total;
}

/** Drops zero entries so breakdowns list only what exists (a bias that is off is not a 0-param part). */
export function nonZero(parts: Record<string, bigint>): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const [k, v] of Object.entries(parts)) if (v !== 0n) out[k] = v;
  return out;
}

export const NO_SELECTION: NonFlopWork = { topkCandidates: 0, gatheredRows: 0, gatheredRowWidth: 0 };

export const big = (n: number): bigint => BigInt(n);
