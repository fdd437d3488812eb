/**
 * The lazy AdamW row update (lazy-adamw.ts) as a WebAssembly SIMD kernel, for
 * tables whose weights, moments and gradient scratch live in one
 * WebAssembly.Memory (an `AdamwArena`).
 *
 * Why: the JS loop is compute-bound, not memory-bound. TurboFan re-checks each
 * typed array's map, length and base pointer on every element (about 75
 * instructions per element), so the update costs as much over 16 cached rows as
 * over 118K rows scattered through a 1 GiB table. The kernel does the update in
 * f32x4 lanes with the same float32 operations in the same order as
 * lazyAdamwRows (which rounds each operation to float32), so its results are
 * the same bits, with no per-element checks.
 *
 * The module is a few hundred bytes written out below (no build step, no wasm
 * file to locate at run time). Its exports:
 *   row(w, m, v, g, n, decay, clear): for the n floats (n a multiple of 4) at
 *     byte addresses w, m, v, g: m ← β1·m + a1·g, v ← β2·v + (a2·g)·g,
 *     w ← w·decay − (stepSize·m)/(√v·rootC2 + ε), and g ← 0 when clear ≠ 0;
 *   configure(β1, β2, a1, a2, stepSize, rootC2, ε): the per-step constants
 *     (float64 values, rounded to float32 in the kernel, as Math.fround does);
 *   touch(w, m, v, bytes): loads the next row's cache lines early.
 * Measured (bench/sparse-update.ts, docs/benchmarks.md): a quarter of the JS
 * loop's CPU time per [1024², 256] table (90 against 365 ms).
 */
import type { SparseStepConfig } from "../layers/layer.js";
import { adamwConstants, adamwElements, type LazyAdamwOptions, type LazyAdamwState } from "./lazy-adamw.js";

/** The part of the WebAssembly JS API used here (the project's lib settings declare none). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: object };
  readonly Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}
const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

export interface AdamwKernel {
  /** The memory the kernel addresses (byte offsets into its buffer). */
  readonly memory: WasmMemory;
  configure(beta1: number, beta2: number, a1: number, a2: number, stepSize: number, rootC2: number, eps: number): void;
  row(w: number, m: number, v: number, g: number, n: number, decay: number, clear: number): void;
  touch(w: number, m: number, v: number, bytes: number): number;
}

// Opcodes used below (WebAssembly core + fixed-width SIMD).
const I32 = 0x7f;
const F64 = 0x7c;
const V128 = 0x7b;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const GLOBAL_GET = 0x23;
const GLOBAL_SET = 0x24;
const I32_CONST = 0x41;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_GT_S = 0x4a;
const I32_LE_S = 0x4c;
const SIMD = 0xfd;
const simd = (op: number): number[] => [SIMD, ...uleb(op)];
const V128_LOAD = (align = 0): number[] => [...simd(0x00), align, 0];
const V128_STORE = (align = 0): number[] => [...simd(0x0b), align, 0];
const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

// row's parameters and locals, by index.
const P_W = 0, P_M = 1, P_V = 2, P_G = 3, P_N = 4, P_DECAY = 5, P_CLEAR = 6;
const L_B1 = 7, L_B2 = 8, L_A1 = 9, L_A2 = 10, L_SS = 11, L_RC = 12, L_EP = 13, L_DC = 14;
const L_G = 15, L_M = 16, L_V = 17;
const ROW_V128_LOCALS = 11; // L_B1 … L_V
/** Globals: β1, β2, a1, a2, stepSize, rootC2, ε (set by configure). */
const GLOBALS = 7;

const get = (i: number): number[] => [LOCAL_GET, ...uleb(i)];
const set = (i: number): number[] => [LOCAL_SET, ...uleb(i)];

const F32_DEMOTE_F64 = 0xb6;
const F32X4_SPLAT = simd(0x13);
const F32X4_SQRT = simd(0xe3);
const F32X4_ADD = simd(0xe4);
const F32X4_SUB = simd(0xe5);
const F32X4_MUL = simd(0xe6);
const F32X4_DIV = simd(0xe7);

const advance = (local: number, by: number): number[] => [...get(local), I32_CONST, ...sleb(by), I32_ADD, ...set(local)];

function rowBody(): number[] {
  const splat = (global: number, local: number) => [GLOBAL_GET, ...uleb(global), F32_DEMOTE_F64, ...F32X4_SPLAT, ...set(local)];
  return [
    // if n <= 0 return
    ...get(P_N), I32_CONST, 0, I32_LE_S, 0x04, 0x40, 0x0f, 0x0b,
    ...splat(0, L_B1), ...splat(1, L_B2), ...splat(2, L_A1), ...splat(3, L_A2), ...splat(4, L_SS), ...splat(5, L_RC), ...splat(6, L_EP),
    ...get(P_DECAY), F32_DEMOTE_F64, ...F32X4_SPLAT, ...set(L_DC),
    0x03, 0x40, // loop
    ...get(P_G), ...V128_LOAD(), ...set(L_G),
    // m = β1·m + a1·g
    ...get(P_M), ...get(L_B1), ...get(P_M), ...V128_LOAD(), ...F32X4_MUL, ...get(L_A1), ...get(L_G), ...F32X4_MUL, ...F32X4_ADD,
    LOCAL_TEE, ...uleb(L_M), ...V128_STORE(),
    // v = β2·v + (a2·g)·g
    ...get(P_V), ...get(L_B2), ...get(P_V), ...V128_LOAD(), ...F32X4_MUL, ...get(L_A2), ...get(L_G), ...F32X4_MUL, ...get(L_G), ...F32X4_MUL, ...F32X4_ADD,
    LOCAL_TEE, ...uleb(L_V), ...V128_STORE(),
    // w = w·decay − (stepSize·m) / (√v·rootC2 + ε)
    ...get(P_W), ...get(P_W), ...V128_LOAD(), ...get(L_DC), ...F32X4_MUL,
    ...get(L_SS), ...get(L_M), ...F32X4_MUL,
    ...get(L_V), ...F32X4_SQRT, ...get(L_RC), ...F32X4_MUL, ...get(L_EP), ...F32X4_ADD,
    ...F32X4_DIV, ...F32X4_SUB, ...V128_STORE(),
    // if clear: g ← 0 (v128.const 0)
    ...get(P_CLEAR), 0x04, 0x40, ...get(P_G), ...simd(0x0c), ...new Array(16).fill(0), ...V128_STORE(), 0x0b,
    ...advance(P_W, 16), ...advance(P_M, 16), ...advance(P_V, 16), ...advance(P_G, 16),
    // n -= 4; continue while n > 0
    ...get(P_N), I32_CONST, 4, I32_SUB, LOCAL_TEE, ...uleb(P_N), I32_CONST, 0, I32_GT_S, 0x0d, 0,
    0x0b, // end loop
    0x0b, // end function
  ];
}

/**
 * touch(w, m, v, bytes) → (ignored): one load per 64-byte line of three rows,
 * issued together so that their cache misses overlap (a row fetched ahead of
 * its update; wasm has no prefetch instruction).
 */
function touchBody(): number[] {
  const load = (base: number) => [...get(base), ...get(3), I32_ADD, 0x28, 2, 0]; // i32.load
  return [
    0x02, 0x40, 0x03, 0x40, // block, loop
    ...get(3), I32_CONST, ...sleb(64), I32_SUB, LOCAL_TEE, 3, I32_CONST, 0, 0x48, 0x0d, 1, // bytes −= 64; br_if bytes < 0 out
    ...load(0), ...load(1), I32_ADD, ...load(2), I32_ADD, ...get(4), I32_ADD, ...set(4),
    0x0c, 0, // br loop
    0x0b, 0x0b,
    ...get(4),
    0x0b,
  ];
}

function configureBody(): number[] {
  return [...range(0, GLOBALS).flatMap((g) => [...get(g), GLOBAL_SET, ...uleb(g)]), 0x0b];
}

/** The module bytes, importing env.memory (shared or not: an import's sharedness must match). */
export function adamwModuleBytes(shared: boolean): Uint8Array {
  const rowType = [0x60, ...vector([[I32], [I32], [I32], [I32], [I32], [F64], [I32]]), 0];
  const configureType = [0x60, ...vector(range(0, GLOBALS).map(() => [F64])), 0];
  const touchType = [0x60, ...vector([[I32], [I32], [I32], [I32]]), ...vector([[I32]])];
  const memoryLimits = shared ? [0x03, 0, ...uleb(65536)] : [0x00, 0];
  const rowCode = [...vector([[...uleb(ROW_V128_LOCALS), V128]]), ...rowBody()];
  const configureCode = [0, ...configureBody()];
  const touchCode = [...vector([[1, I32]]), ...touchBody()];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector([rowType, configureType, touchType])),
    ...section(2, vector([[...name("env"), ...name("memory"), 0x02, ...memoryLimits]])),
    ...section(3, vector([[0], [1], [2]])),
    ...section(6, vector(range(0, GLOBALS).map(() => [F64, 1, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b]))),
    ...section(7, vector([[...name("row"), 0x00, 0], [...name("configure"), 0x00, 1], [...name("touch"), 0x00, 2]])),
    ...section(10, vector([rowCode, configureCode, touchCode].map((code) => [...uleb(code.length), ...code]))),
  ];
  return Uint8Array.from(bytes);
}

const modules: { shared?: object; plain?: object } = {};
let simdAvailable: boolean | null = null;

/** True when this engine runs the kernel (WebAssembly with fixed-width SIMD). */
export function wasmSimdAvailable(): boolean {
  if (simdAvailable === null) {
    try {
      simdAvailable = wasm !== undefined && wasm.validate(adamwModuleBytes(false));
    } catch {
      simdAvailable = false;
    }
  }
  return simdAvailable === true;
}

/** An instance of the kernel over `memory`. */
export function adamwKernel(memory: WasmMemory, shared: boolean): AdamwKernel {
  if (wasm === undefined) throw new Error("the wasm AdamW kernel needs WebAssembly");
  const key = shared ? "shared" : "plain";
  const module = (modules[key] ??= new wasm.Module(adamwModuleBytes(shared)));
  const instance = new wasm.Instance(module, { env: { memory } });
  const exports = instance.exports as unknown as Omit<AdamwKernel, "memory">;
  return { memory, configure: exports.configure, row: exports.row, touch: exports.touch };
}

/**
 * lazyAdamwRows (same arguments, same results) with each row's first
 * cols − cols mod 4 floats done by the kernel. `state.table`, `state.m`,
 * `state.v` and `grad` must be views of `kernel.memory`.
 */
export function lazyAdamwRowsWasm(
  kernel: AdamwKernel,
  state: LazyAdamwState,
  touched: Int32Array,
  count: number,
  grad: Float32Array,
  config: SparseStepConfig,
  options: LazyAdamwOptions = {},
): void {
  const { table, m, v, lastStep, cols } = state;
  const { lr, weightDecay, step } = config;
  const clear = options.clearGrad ?? false ? 1 : 0;
  const order = options.order ?? null;
  const keep = 1 - lr * weightDecay;
  const c = adamwConstants(config, options.gradScale ?? 1);
  kernel.configure(c.b1, c.b2, c.a1, c.a2, c.stepSize, c.rootC2, c.eps);
  const wide = cols - (cols % 4);
  const rowBytes = cols * 4;
  const w0 = table.byteOffset, m0 = m.byteOffset, v0 = v.byteOffset, g0 = grad.byteOffset;
  let owedCached = -1;
  let decayCached = 1;
  for (let k = options.from ?? 0; k < count; k++) {
    const s = order === null ? k : order[k];
    const row = touched[s];
    const owed = Math.max(1, step - lastStep[row]);
    let decay = 1;
    if (weightDecay !== 0) {
      if (owed !== owedCached) {
        owedCached = owed;
        decayCached = Math.pow(keep, owed);
      }
      decay = decayCached;
    }
    // Start fetching the next row's weights and moments (11% faster at 1024² experts, 118K rows).
    if (k + 1 < count) {
      const next = touched[order === null ? k + 1 : order[k + 1]] * rowBytes;
      kernel.touch(w0 + next, m0 + next, v0 + next, rowBytes);
    }
    kernel.row(w0 + row * rowBytes, m0 + row * rowBytes, v0 + row * rowBytes, g0 + s * rowBytes, wide, decay, clear);
    // The last cols mod 4 floats, as lazyAdamwRows does them.
    adamwElements(c, table, m, v, grad, row * cols + wide, s * cols + wide, cols - wide, decay);
    if (clear) grad.fill(0, s * cols + wide, (s + 1) * cols);
    lastStep[row] = step;
  }
}

/** The largest WebAssembly.Memory (wasm32): 65536 pages of 64 KiB. */
export const MAX_ARENA_BYTES = 2 ** 32;
const PAGE = 65536;

/**
 * A table's weights, Adam moments and gradient scratch as views of one
 * WebAssembly.Memory, with the kernel instance that updates them.
 */
export interface AdamwArena {
  readonly kernel: AdamwKernel;
  readonly table: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** Rows the gradient scratch can hold. */
  readonly scratchCapacity: number;
  /** The gradient scratch's first `rows` rows (rows ≤ scratchCapacity); all views share the memory. */
  scratch(rows: number): Float32Array;
}

/**
 * An arena for a [rows, cols] table, or null when the table and at least
 * `minScratchRows` rows of scratch do not fit in `limitBytes` (or the engine
 * has no wasm SIMD, or the memory cannot be reserved). The memory is sized
 * once for the scratch's largest size (all rows, or what fits) and never
 * grows, so the views stay valid; pages never written take no RAM.
 *
 * The four regions start at different offsets modulo 4 KiB (0, 1088, 2176,
 * 3264): with equal offsets the same row of table, m, v falls on addresses
 * 4 KiB-aliased to one another, which made the update 4× slower in
 * measurement (bench/sparse-update.ts, docs/benchmarks.md).
 */
export function createAdamwArena(
  rows: number,
  cols: number,
  minScratchRows: number,
  limitBytes = MAX_ARENA_BYTES,
  /** A shared memory: the views are on a SharedArrayBuffer, so worker threads can read and write them. */
  shared = false,
): AdamwArena | null {
  const bytes = rows * cols * 4;
  const stagger = 1088;
  const regionStart = (previousEnd: number, k: number) => Math.ceil(previousEnd / 4096) * 4096 + k * stagger;
  const tableAt = 0;
  const mAt = regionStart(tableAt + bytes, 1);
  const vAt = regionStart(mAt + bytes, 2);
  const scratchAt = regionStart(vAt + bytes, 3);
  const rowBytes = cols * 4;
  const capacity = Math.min(rows, Math.floor((limitBytes - scratchAt) / rowBytes));
  if (!(capacity >= Math.min(rows, minScratchRows)) || wasm === undefined || !wasmSimdAvailable()) return null;
  let memory: WasmMemory;
  try {
    const pages = Math.ceil((scratchAt + capacity * rowBytes) / PAGE);
    memory = new wasm.Memory(shared ? { initial: pages, maximum: pages, shared: true } : { initial: pages });
  } catch {
    return null;
  }
  const buffer = memory.buffer;
  const length = rows * cols;
  return {
    kernel: adamwKernel(memory, shared),
    table: new Float32Array(buffer, tableAt, length),
    m: new Float32Array(buffer, mAt, length),
    v: new Float32Array(buffer, vAt, length),
    scratchCapacity: capacity,
    scratch: (scratchRows) => new Float32Array(buffer, scratchAt, scratchRows * cols),
  };
}
