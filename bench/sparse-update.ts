/**
 * The expert tables' update alone, before and after the streamed lazy AdamW,
 * alternating in one process on the same gradients: one [1024², 256] table
 * (the u or v of a 1024² PEER layer), 2048 tokens × 64 retrievals per step
 * (about 118K distinct rows), gradient scale (clipping) on.
 *
 * before: the update as it was — slots in first-touch order, each slot zeroed
 *   when reserved, an eager pass for the clip scale, then the per-element
 *   update in slot order (random rows).
 * after: ExpertTable as it is — ascending-row slots, deferred scale folded into
 *   the update, gradient rows zeroed while in cache, rows updated by the wasm
 *   SIMD kernel (adamw-wasm.ts).
 * after (js): the same with `updateKernel: "js"` (the JS row loop, plain arrays).
 * bf16: the same with bf16 moments (stochastic rounding), when BF16=1.
 * 2 threads: "after (js)" with the update split over a worker (SharedArrayBuffer tables), when THREADS=1.
 *
 *   npx tsx bench/sparse-update.ts        (ROUNDS=n, default 4; BF16=1, THREADS=1 add sides;
 *                                          NO_BEFORE=1 drops the before side: about 3 GiB less memory)
 */
import { ExpertTable } from "../runtime/experts/sparse-table.js";

const ROWS = 1 << 20;
const COLS = 256;
const IDS = 2048 * 64;
const ROUNDS = Number(process.env["ROUNDS"] ?? 4);
const HYPER = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 };

/** The previous implementation, kept here for the comparison. */
class Before {
  readonly table = new Float32Array(ROWS * COLS).fill(0.01);
  readonly m = new Float32Array(ROWS * COLS).fill(0);
  readonly v = new Float32Array(ROWS * COLS).fill(0);
  readonly lastStep = new Int32Array(ROWS);
  readonly rowSlot = new Int32Array(ROWS).fill(-1);
  readonly touched = new Int32Array(IDS);
  readonly grad = new Float32Array(IDS * COLS).fill(0);
  count = 0;
  reserve(ids: Int32Array): Int32Array {
    const offsets = new Int32Array(ids.length);
    for (let n = 0; n < ids.length; n++) {
      let slot = this.rowSlot[ids[n]!]!;
      if (slot < 0) {
        slot = this.count++;
        this.rowSlot[ids[n]!] = slot;
        this.touched[slot] = ids[n]!;
        this.grad.fill(0, slot * COLS, (slot + 1) * COLS);
      }
      offsets[n] = slot * COLS;
    }
    return offsets;
  }
  scale(f: number): void {
    const end = this.count * COLS;
    for (let i = 0; i < end; i++) this.grad[i]! *= f;
  }
  step(step: number): void {
    const { lr, beta1, beta2, eps, weightDecay } = HYPER;
    const keep = 1 - lr * weightDecay;
    const c1 = 1 / (1 - Math.pow(beta1, step));
    const c2 = 1 / (1 - Math.pow(beta2, step));
    const { table, m, v, grad } = this;
    for (let s = 0; s < this.count; s++) {
      const row = this.touched[s]!;
      const decay = Math.pow(keep, Math.max(0, step - this.lastStep[row]! - 1) + 1);
      const base = row * COLS;
      for (let c = 0; c < COLS; c++) {
        const g = grad[s * COLS + c]!;
        const i = base + c;
        const mi = beta1 * m[i]! + (1 - beta1) * g;
        const vi = beta2 * v[i]! + (1 - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        table[i] = table[i]! * decay - (lr * (mi * c1)) / (Math.sqrt(vi * c2) + eps);
      }
      this.lastStep[row] = step;
    }
    for (let s = 0; s < this.count; s++) this.rowSlot[this.touched[s]!] = -1;
    this.count = 0;
  }
}

const withBefore = process.env["NO_BEFORE"] !== "1";
const before = withBefore ? new Before() : null;
const after = new ExpertTable("u", ROWS, COLS, (t) => t.fill(0.01));
const afterJs = new ExpertTable("uj", ROWS, COLS, (t) => t.fill(0.01), { updateKernel: "js" });
const bf16 = process.env["BF16"] === "1" ? new ExpertTable("u16", ROWS, COLS, (t) => t.fill(0.01), { moments: "bf16" }) : null;
const twoThreads = process.env["THREADS"] === "1" ? new ExpertTable("u2", ROWS, COLS, (t) => t.fill(0.01), { threads: 2, updateKernel: "js" }) : null;
type Side = "before" | "after" | "after (js)" | "bf16" | "2 threads";
const sides: Side[] = [
  ...(withBefore ? (["before"] as const) : []), "after", "after (js)",
  ...(bf16 === null ? [] : (["bf16"] as const)), ...(twoThreads === null ? [] : (["2 threads"] as const)),
];
let seed = 7;
const random = (): number => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const ids = new Int32Array(IDS);
const ms: Record<Side, number[]> = { before: [], after: [], "after (js)": [], bf16: [], "2 threads": [] };
const cpuMs: Record<Side, number[]> = { before: [], after: [], "after (js)": [], bf16: [], "2 threads": [] };
let distinct = 0;
for (let round = 0; round <= ROUNDS; round++) {
  for (let i = 0; i < IDS; i++) ids[i] = Math.floor(random() * ROWS);
  for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
    const table = side === "bf16" ? bf16! : side === "2 threads" ? twoThreads! : side === "after (js)" ? afterJs : after;
    // Backward stand-in: reserve the slots and add a gradient into each (not timed).
    const offsets = before !== null && side === "before" ? before.reserve(ids) : table.reserveGradRows(ids);
    const grad = before !== null && side === "before" ? before.grad : table.gradients;
    for (let n = 0; n < IDS; n++) for (let c = 0; c < COLS; c++) grad[offsets[n]! + c]! += 1e-3 * (((n + c) % 7) - 3);
    distinct = before !== null && side === "before" ? before.count : table.touchedRows;
    // CPU time as well as wall time: less sensitive to other jobs on the cores.
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    if (before !== null && side === "before") {
      before.scale(0.5);
      before.step(round + 1);
    } else {
      table.scaleGrads(0.5);
      table.step({ ...HYPER, step: round + 1 });
    }
    const cpu = process.cpuUsage(cpu0);
    if (round > 0) {
      // round 0 is the warm-up
      ms[side].push(performance.now() - t0);
      cpuMs[side].push((cpu.user + cpu.system) / 1000);
    }
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`one [${ROWS}, ${COLS}] table, ${distinct.toLocaleString("en-US")} distinct rows per step, clip scale + update, ${ROUNDS} alternating rounds after a warm-up`);
console.log(`| | ms per step, median (all) | CPU ms, median (all) |\n|---|---|---|`);
const all = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(", ");
for (const side of sides) console.log(`| ${side} | ${median(ms[side]).toFixed(0)} (${all(ms[side])}) | ${median(cpuMs[side]).toFixed(0)} (${all(cpuMs[side])}) |`);
if (withBefore) console.log(`ratio before / after, per round: ${ms.before.map((b, i) => (b / ms.after[i]!).toFixed(2)).join(", ")}`);
console.log(`ratio after (js) / after (wasm), per round: ${ms["after (js)"].map((b, i) => (b / ms.after[i]!).toFixed(2)).join(", ")}`);
if (twoThreads !== null) console.log(`ratio 2 threads / 1 thread (after (js)), per round: ${ms["2 threads"].map((b, i) => (b / ms["after (js)"][i]!).toFixed(2)).join(", ")}`);
if (bf16 !== null) console.log(`ratio bf16 / after (fp32), per round: ${ms.bf16.map((b, i) => (b / ms.after[i]!).toFixed(2)).join(", ")}`);
