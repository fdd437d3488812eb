/**
 * The wasm SIMD lazy AdamW kernel (runtime/experts/adamw-wasm.ts) against the
 * JS loop it replaces: the same bits in weights, moments, last steps and the
 * cleared gradient, directly and through ExpertTable (several backward passes,
 * clip scale, scratch growth, the fallback when the arena runs out of room).
 */
import { describe, expect, it } from "vitest";
import { adamwKernel, createAdamwArena, lazyAdamwRowsWasm, wasmSimdAvailable } from "../../runtime/experts/adamw-wasm.js";
import { lazyAdamwRows, type LazyAdamwState } from "../../runtime/experts/lazy-adamw.js";
import { ExpertTable } from "../../runtime/experts/sparse-table.js";
import { randomArray, seededRng } from "./experts-fixtures.js";

const HYPER = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/** Indices where a and b differ bit for bit (Object.is: also tells −0 from 0). */
function differences(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (!Object.is(a[i], b[i])) out.push(i);
  return out;
}

function distinctRows(rng: () => number, rows: number, count: number): Int32Array {
  return Int32Array.from(new Set(Array.from({ length: count }, () => Math.floor(rng() * rows))));
}

describe("wasm AdamW kernel", () => {
  it("is available on this Node (wasm SIMD)", () => {
    expect(wasmSimdAvailable()).toBe(true);
  });

  for (const cols of [256, 7, 4, 3]) {
    it(`updates rows to the same bits as lazyAdamwRows (cols ${cols}, visit order, decay off and on, clear)`, () => {
      const rows = 48;
      const arena = createAdamwArena(rows, cols, rows)!;
      const rng = seededRng(cols);
      const init = randomArray(rows * cols, rng);
      arena.table.set(init);
      const wasmState: LazyAdamwState = { table: arena.table, m: arena.m, v: arena.v, lastStep: new Int32Array(rows), cols };
      const jsState: LazyAdamwState = { table: init.slice(), m: new Float32Array(rows * cols), v: new Float32Array(rows * cols), lastStep: new Int32Array(rows), cols };
      const wasmGrad = arena.scratch(rows);
      const jsGrad = new Float32Array(rows * cols);
      for (let step = 1; step <= 6; step++) {
        const touched = distinctRows(rng, rows, 30);
        const count = touched.length;
        // Tiny gradients at step 3 (denormal-range g²), no decay at step 4.
        const grad = randomArray(count * cols, rng, step === 3 ? 1e-20 : 1);
        wasmGrad.set(grad);
        jsGrad.set(grad);
        const order = step % 2 === 0 ? Int32Array.from({ length: count }, (_, k) => count - 1 - k) : null;
        const config = { ...HYPER, weightDecay: step === 4 ? 0 : 0.1, step };
        const options = { gradScale: 0.7, clearGrad: step !== 5, order, from: step === 6 ? 2 : 0 };
        lazyAdamwRows(jsState, touched, count, jsGrad, config, options);
        lazyAdamwRowsWasm(arena.kernel, wasmState, touched, count, wasmGrad, config, options);
        expect(differences(wasmState.table, jsState.table)).toEqual([]);
        expect(differences(wasmState.m, jsState.m)).toEqual([]);
        expect(differences(wasmState.v, jsState.v)).toEqual([]);
        expect(differences(wasmState.lastStep, jsState.lastStep)).toEqual([]);
        expect(differences(wasmGrad.subarray(0, count * cols), jsGrad.subarray(0, count * cols))).toEqual([]);
      }
      // Something did move: the weights left their initial values.
      expect(differences(wasmState.table, init).length).toBeGreaterThan(0);
    });
  }

  it("keeps the arena's regions apart and off each other's 4 KiB alignment", () => {
    const arena = createAdamwArena(1000, 64, 256)!;
    const views = [arena.table, arena.m, arena.v, arena.scratch(arena.scratchCapacity)];
    expect(new Set(views.map((x) => x.buffer)).size).toBe(1);
    expect(new Set(views.map((x) => x.byteOffset % 4096)).size).toBe(4);
    for (let k = 1; k < views.length; k++) expect(views[k].byteOffset).toBeGreaterThanOrEqual(views[k - 1].byteOffset + views[k - 1].byteLength);
    expect(arena.scratchCapacity).toBe(1000);
  });

  it("declines a table whose state and minimum scratch exceed the limit", () => {
    expect(createAdamwArena(1000, 64, 256, 3 * 1000 * 64 * 4)).toBeNull();
    // Room for 256 scratch rows plus at most 4 × 4 KiB of region padding (64 rows of 256 bytes).
    const capacity = createAdamwArena(1000, 64, 256, 3 * 1000 * 64 * 4 + 4 * 4096 + 256 * 64 * 4)?.scratchCapacity;
    expect(capacity).toBeGreaterThanOrEqual(256);
    expect(capacity).toBeLessThanOrEqual(256 + 64);
  });

  it("runs over a memory it is given, by byte address", () => {
    const arena = createAdamwArena(4, 4, 4)!;
    const kernel = adamwKernel(arena.kernel.memory, false);
    const scratch = arena.scratch(1);
    arena.table.fill(1);
    scratch.set([1, -1, 2, -4]);
    kernel.configure(0.9, 0.999, 0.1, 0.001, 0.5, 1, 0);
    // Row 1 (bytes 16–31) with decay 0.5.
    kernel.row(arena.table.byteOffset + 16, arena.m.byteOffset + 16, arena.v.byteOffset + 16, scratch.byteOffset, 4, 0.5, 1);
    // Adam's first step with unit bias corrections: w·decay − stepSize·(0.1·g)/√(0.001·g²) = 0.5 ∓ 0.5·0.1/√0.001.
    const step = (0.5 * 0.1) / Math.sqrt(0.001);
    const expected = [0.5 - step, 0.5 + step, 0.5 - step, 0.5 + step];
    arena.table.subarray(4, 8).forEach((w, c) => expect(w).toBeCloseTo(expected[c], 5));
    expect(Array.from(arena.m.subarray(4, 8))).toEqual([0.1, -0.1, 0.2, -0.4].map(Math.fround));
    expect(Array.from(arena.table.subarray(0, 4))).toEqual([1, 1, 1, 1]);
    expect(Array.from(arena.table.subarray(8, 16))).toEqual(new Array(8).fill(1));
    expect(Array.from(scratch)).toEqual([0, 0, 0, 0]);
    // touch only reads: the sum of the first word of each 64-byte line of the three rows.
    const bytes = new Uint8Array(arena.kernel.memory.buffer).slice();
    const words = new Int32Array(arena.kernel.memory.buffer);
    const at = [arena.table, arena.m, arena.v].map((x) => x.byteOffset);
    const touchSum = at.reduce((sum, offset) => (sum + words[offset / 4] + words[offset / 4 + 16]) | 0, 0);
    expect(kernel.touch(at[0], at[1], at[2], 128)).toBe(touchSum);
    expect(differences(new Uint8Array(arena.kernel.memory.buffer), bytes)).toEqual([]);
  });
});

describe("ExpertTable on the wasm kernel", () => {
  function pair(rows: number, cols: number, wasmOptions: Record<string, unknown> = {}): [ExpertTable, ExpertTable] {
    const init = randomArray(rows * cols, seededRng(rows + cols));
    const wasm = new ExpertTable("w", rows, cols, (t) => t.set(init), { updateKernel: "wasm", ...wasmOptions });
    const js = new ExpertTable("j", rows, cols, (t) => t.set(init), { updateKernel: "js" });
    return [wasm, js];
  }

  /** Two backward passes per step (unordered slots), a clip scale, growing scratch. */
  function trainBoth(tables: [ExpertTable, ExpertTable], rows: number, steps: number, perPass: number): void {
    const rng = seededRng(17);
    for (let step = 1; step <= steps; step++) {
      for (let pass = 0; pass < 2; pass++) {
        const ids = Int32Array.from({ length: perPass * step }, () => Math.floor(rng() * rows));
        const values = randomArray(ids.length * tables[0].cols, rng);
        for (const table of tables) {
          const offsets = table.reserveGradRows(ids);
          const grad = table.gradients;
          for (let n = 0; n < ids.length; n++) for (let c = 0; c < table.cols; c++) grad[offsets[n] + c] += values[n * table.cols + c];
        }
      }
      for (const table of tables) {
        table.scaleGrads(0.5);
        table.step({ ...HYPER, weightDecay: 0.1, step });
      }
    }
  }

  it("trains to the same bits as the JS update", () => {
    const [wasm, js] = pair(2000, 12);
    expect(wasm.updateKernel).toBe("wasm");
    expect(js.updateKernel).toBe("js");
    trainBoth([wasm, js], 2000, 5, 90); // up to 900 ids per step: the scratch grows past 256 rows
    expect(differences(wasm.table, js.table)).toEqual([]);
    expect(differences(wasm.m, js.m)).toEqual([]);
    expect(differences(wasm.v, js.v)).toEqual([]);
    expect(differences(wasm.lastStep, js.lastStep)).toEqual([]);
    expect(wasm.touchedRows).toBe(0);
  });

  it("falls back to plain scratch and the JS update when the arena's scratch is full, with the same results", () => {
    const rows = 2000;
    const cols = 12;
    // Room for the state and 300 scratch rows.
    const [wasm, js] = pair(rows, cols, { arenaLimitBytes: 3 * rows * cols * 4 + 4 * 4096 + 300 * cols * 4 });
    expect(wasm.updateKernel).toBe("wasm");
    trainBoth([wasm, js], rows, 5, 90);
    expect(wasm.updateKernel).toBe("js");
    expect(differences(wasm.table, js.table)).toEqual([]);
    expect(differences(wasm.m, js.m)).toEqual([]);
    expect(differences(wasm.v, js.v)).toEqual([]);
  });

  it("runs on a shared arena for a threaded table when asked, with the same bits", () => {
    const [wasm, js] = pair(2000, 12, { threads: 2 });
    expect(wasm.updateKernel).toBe("wasm");
    expect(wasm.table.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(wasm.gradients.buffer).toBe(wasm.table.buffer);
    trainBoth([wasm, js], 2000, 4, 90);
    expect(differences(wasm.table, js.table)).toEqual([]);
    expect(differences(wasm.m, js.m)).toEqual([]);
    expect(differences(wasm.v, js.v)).toEqual([]);
  });

  it("is the default for fp32 tables of 16K elements or more (4M with threads), never for bf16 moments", () => {
    expect(new ExpertTable("big", 1024, 16, () => undefined).updateKernel).toBe("wasm");
    expect(new ExpertTable("small", 64, 16, () => undefined).updateKernel).toBe("js");
    expect(new ExpertTable("bf16", 1024, 16, () => undefined, { moments: "bf16" }).updateKernel).toBe("js");
    expect(new ExpertTable("two", 1024, 16, () => undefined, { threads: 2 }).updateKernel).toBe("js");
    const large = new ExpertTable("two-large", 4096, 1024, () => undefined, { threads: 2 });
    expect(large.updateKernel).toBe("wasm");
    expect(large.table.buffer).toBeInstanceOf(SharedArrayBuffer);
  });
});
