/**
 * The expert update on two and three threads (workers over SharedArrayBuffer
 * tables) gives the same bits as on one, over several steps with clipping-style scales,
 * decay and gradient accumulation (the sorted-order path).
 */
import { describe, expect, it } from "vitest";
import { ExpertTable } from "../../runtime/experts/sparse-table.js";
import { MIN_PARALLEL_ELEMENTS, parallelUpdateCount, setExpertThreads, expertThreads } from "../../runtime/experts/update-threads.js";
import { randomArray, seededRng } from "./experts-fixtures.js";

/** Index of the first element whose bits differ (-1: identical); a plain loop, as toEqual on 262 K elements takes seconds. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

describe("expert update threads", () => {
  it("1, 2 and 3 threads give identical tables, moments and last steps", () => {
    const rows = 4096;
    const cols = 64;
    const init = randomArray(rows * cols, seededRng(41));
    const one = new ExpertTable("one", rows, cols, (a) => a.set(init), { threads: 1 });
    const two = new ExpertTable("two", rows, cols, (a) => a.set(init), { threads: 2 });
    const three = new ExpertTable("three", rows, cols, (a) => a.set(init), { threads: 3 });
    expect(two.threads).toBe(2);
    expect(two.table.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(one.table.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    const rng = seededRng(42);
    const parallelBefore = parallelUpdateCount();
    let largest = 0;
    for (let step = 1; step <= 5; step++) {
      const passes = step % 2 === 0 ? 2 : 1; // two passes: slots not in row order → sorted visit order
      for (let p = 0; p < passes; p++) {
        const ids = Int32Array.from({ length: 3000 }, () => Math.floor(rng() * rows));
        const g = randomArray(ids.length * cols, rng);
        for (const t of [one, two, three]) {
          const off = t.reserveGradRows(ids);
          const grads = t.gradients;
          for (let n = 0; n < ids.length; n++) for (let c = 0; c < cols; c++) grads[off[n] + c] += g[n * cols + c];
        }
      }
      largest = Math.max(largest, two.touchedRows * cols);
      for (const t of [one, two, three]) {
        t.scaleGrads(0.7);
        t.step({ lr: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step });
      }
      for (const t of [two, three]) {
        expect(firstDifference(t.table, one.table)).toBe(-1);
        expect(firstDifference(t.m, one.m)).toBe(-1);
        expect(firstDifference(t.v, one.v)).toBe(-1);
        expect(firstDifference(t.lastStep, one.lastStep)).toBe(-1);
      }
    }
    // The steps were large enough to use the worker.
    expect(largest).toBeGreaterThanOrEqual(MIN_PARALLEL_ELEMENTS);
    expect(parallelUpdateCount() - parallelBefore).toBe(2 * 5);
    expect(Array.from(one.table)).not.toEqual(Array.from(init));
  });

  it("setExpertThreads sets the default for new tables and rejects bad counts; bf16 tables stay on one thread", () => {
    const before = expertThreads();
    try {
      expect(setExpertThreads(4)).toBe(4);
      expect(new ExpertTable("t", 8, 2, () => undefined).threads).toBe(4);
      expect(new ExpertTable("t", 8, 2, () => undefined, { moments: "bf16" }).threads).toBe(1);
      expect(() => setExpertThreads(0)).toThrow(/integer in \[1, 256\]/);
    } finally {
      setExpertThreads(before);
    }
    expect(new ExpertTable("t", 8, 2, () => undefined).threads).toBe(before);
  });
});

// Training on 1 and 2 threads (every expert kernel, not only the update): experts-kernel-threads.test.ts.
