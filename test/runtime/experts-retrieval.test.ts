import { describe, expect, it } from "vitest";
import { productKeyTopk } from "../../runtime/experts/product-keys.js";
import { randomArray, seededRng } from "./experts-fixtures.js";

/** Top-k over all N = √N² concatenated keys, scoring every one: score(i·√N + j) = s1[i] + s2[j]. */
function bruteForceTopk(s1: Float32Array, s2: Float32Array, row: number, subKeys: number, k: number): { id: number; score: number }[] {
  const all: { id: number; score: number }[] = [];
  for (let i = 0; i < subKeys; i++) {
    for (let j = 0; j < subKeys; j++) {
      all.push({ id: i * subKeys + j, score: s1[row * subKeys + i] + s2[row * subKeys + j] });
    }
  }
  all.sort((a, b) => b.score - a.score || a.id - b.id);
  return all.slice(0, k);
}

describe("product-key top-k", () => {
  const cases = [
    { subKeys: 4, rows: 5, subTopk: 4, topk: 4 },
    { subKeys: 8, rows: 7, subTopk: 5, topk: 3 },
    { subKeys: 16, rows: 9, subTopk: 8, topk: 8 },
    { subKeys: 32, rows: 4, subTopk: 16, topk: 16 },
    { subKeys: 32, rows: 4, subTopk: 20, topk: 7 },
  ];
  for (const { subKeys, rows, subTopk, topk } of cases) {
    it(`equals brute force over all ${subKeys ** 2} keys (k'=${subTopk}, k=${topk})`, () => {
      const rng = seededRng(subKeys * 100 + topk);
      const s1 = randomArray(rows * subKeys, rng);
      const s2 = randomArray(rows * subKeys, rng);
      const hits = productKeyTopk(s1, s2, rows, subKeys, subTopk, topk);
      for (let r = 0; r < rows; r++) {
        const expected = bruteForceTopk(s1, s2, r, subKeys, topk);
        const got = Array.from(hits.ids.subarray(r * topk, (r + 1) * topk));
        expect(new Set(got)).toEqual(new Set(expected.map((e) => e.id)));
        for (let c = 0; c < topk; c++) {
          expect(hits.scores[r * topk + c]).toBeCloseTo(expected[c].score, 5);
        }
      }
    });
  }

  it("index algebra: id = i·√N + j, in range, no duplicates per row, scores match the halves", () => {
    const subKeys = 16;
    const rows = 20;
    const rng = seededRng(7);
    const s1 = randomArray(rows * subKeys, rng);
    const s2 = randomArray(rows * subKeys, rng);
    const hits = productKeyTopk(s1, s2, rows, subKeys, 6, 6);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(hits.ids.subarray(r * 6, r * 6 + 6));
      expect(new Set(row).size).toBe(6);
      for (let c = 0; c < 6; c++) {
        const n = r * 6 + c;
        const id = hits.ids[n];
        expect(id).toBeGreaterThanOrEqual(0);
        expect(id).toBeLessThan(subKeys * subKeys);
        expect(Math.floor(id / subKeys)).toBe(hits.first[n]);
        expect(id % subKeys).toBe(hits.second[n]);
        expect(hits.scores[n]).toBeCloseTo(s1[r * subKeys + hits.first[n]] + s2[r * subKeys + hits.second[n]], 5);
        if (c > 0) expect(hits.scores[n]).toBeLessThanOrEqual(hits.scores[n - 1]);
      }
    }
  });

  it("rejects k larger than the k'² candidates", () => {
    const s = new Float32Array(16);
    expect(() => productKeyTopk(s, s, 1, 16, 2, 5)).toThrow(/top-k 5/);
  });
});
