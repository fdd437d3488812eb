/**
 * WGSL compute kernels specialised to one PEER/PKM layer: h, k, sub-top-k,
 * √N, key dim and d_model are constants in the source, loops over the sub-keys,
 * the k'² candidates, the h·k slots and d are fixed-trip. Pure string
 * generation (no tfjs, no compiler): the runtime builds them when a layer is
 * created on webgpu (kinds/peer/device-kernels.ts registers them as tfjs
 * kernels), and `peerc compile` emits the same text next to the trainer
 * (kernels.ts); `layerKernels` lists every kernel of a layer, for both.
 * Deterministic: the same shape always gives the same source, byte for byte.
 *
 * The sources are the *body* tfjs-backend-webgpu expects of a program
 * (`fn main(index: i32)` plus helpers): tfjs prepends the bindings
 * (`result` = output, then one read-only array per input, in order) and the
 * `_start` entry point, one invocation per output element (flat dispatch).
 *
 * Kernels:
 * - topk:        [R, √N] × 2 sub-key scores → [R, k] expert ids (i·√N + j), best
 *                first; ties towards the lower sub-key rank, as tfjs topk.
 * - expertGate:  z[t, s] = g[t, s] · σ(u_id · x_t)            [T, h·k]
 *                (GLU: g · σ(gate_id · x_t) · (u_id · x_t))
 * - expertMix:   out[t, j] = Σ_s z[t, s] · v_id[j]              [T, d]
 *                (the backward's dx is the same kernel over u with da)
 * - expertDots:  a[t, s] = w_id · y_t                           [T, h·k]
 *                (the backward's dz = v_id · dy_t; the forward's pre-activation)
 */
import type { PeerLayer, PkmLayer } from "../../ir/types.js";
import { rowGradKernel, rowStartsKernel } from "./wgsl-rows.js";

export interface KernelShape {
  /** √N sub-keys per half. */
  readonly subKeys: number;
  readonly subTopk: number;
  readonly topk: number;
  readonly heads: number;
  readonly keyDim: number;
  /** Width of the rows the experts read (d_model for PEER). */
  readonly dModel: number;
}

export type KernelActivation = "relu" | "gelu" | "gelu_tanh" | "silu" | "sigmoid" | "tanh" | "identity";

/**
 * A row range of a table split into shards (kinds/product-keys/device.ts): the
 * kernel reads rows [offset, offset + rows) from its table input and treats
 * ids outside as contributing nothing; the caller sums over the shards.
 */
export interface ShardRange {
  readonly offset: number;
  readonly rows: number;
}

const shardKey = (shard: ShardRange | undefined): string => (shard ? `_o${shard.offset}_r${shard.rows}` : "");
const shardConsts = (shard: ShardRange | undefined): string => (shard ? `\nconst OFFSET: i32 = ${shard.offset};\nconst ROWS: i32 = ${shard.rows};` : "");
/** WGSL expression: the local row of global id `id` (unsharded: the id itself). */
const local = (id: string, shard: ShardRange | undefined): string => (shard ? `(${id} - OFFSET)` : id);
/** WGSL condition: the local row lies in this shard. */
const inShard = (row: string, shard: ShardRange | undefined): string => (shard ? `(${row} >= 0 && ${row} < ROWS)` : "true");

export interface WgslKernel {
  /** Stable name: kernel kind + every constant, e.g. "peerc_topk_s32_k8_t16". */
  readonly key: string;
  /** Input names, in binding order (tfjs variableNames). */
  readonly inputs: readonly string[];
  readonly source: string;
}

function check(shape: KernelShape): void {
  const { subKeys, subTopk, topk, heads, keyDim, dModel } = shape;
  for (const [name, v] of Object.entries({ subKeys, subTopk, topk, heads, keyDim, dModel })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`wgsl: ${name} must be a positive integer, got ${v}`);
  }
  if (subTopk > subKeys) throw new Error(`wgsl: sub top-k ${subTopk} exceeds ${subKeys} sub-keys`);
  if (topk > subTopk * subTopk) throw new Error(`wgsl: top-k ${topk} exceeds sub top-k² = ${subTopk * subTopk}`);
}

/**
 * Product-key top-k, one invocation per query row (dispatch over R, not over
 * the R·k outputs): the two sub-key top-k's (insertion into k' registers over
 * √N scores), the k'² candidate sums and their top-k, then k ids written.
 * Inputs S1, S2: [R, √N] f32. Output: [R, k] i32.
 */
export function topkKernel(shape: KernelShape): WgslKernel {
  check(shape);
  const { subKeys: n, subTopk: kk, topk: k } = shape;
  const source = `
const SUB_KEYS: i32 = ${n};
const SUB_TOPK: i32 = ${kk};
const TOPK: i32 = ${k};
const CANDIDATES: i32 = ${kk * kk};

// Top-SUB_TOPK of one row of S (half 0 = S1, 1 = S2), best first; ties keep the lower index.
fn subTopk(row: i32, half: i32, vals: ptr<function, array<f32, ${kk}>>, idx: ptr<function, array<i32, ${kk}>>) {
  for (var r = 0; r < SUB_TOPK; r++) { (*vals)[r] = -uniforms.INFINITY; (*idx)[r] = -1; }
  for (var i = 0; i < SUB_KEYS; i++) {
    var v: f32;
    if (half == 0) { v = S1[row * SUB_KEYS + i]; } else { v = S2[row * SUB_KEYS + i]; }
    if (v > (*vals)[SUB_TOPK - 1] || (*idx)[SUB_TOPK - 1] < 0) {
      var p = SUB_TOPK - 1;
      loop {
        if (p == 0) { break; }
        if (!(v > (*vals)[p - 1] || (*idx)[p - 1] < 0)) { break; }
        (*vals)[p] = (*vals)[p - 1];
        (*idx)[p] = (*idx)[p - 1];
        p--;
      }
      (*vals)[p] = v;
      (*idx)[p] = i;
    }
  }
}

fn main(row: i32) {
  if (row * TOPK >= uniforms.size) { return; }
  var v1: array<f32, ${kk}>; var i1: array<i32, ${kk}>;
  var v2: array<f32, ${kk}>; var i2: array<i32, ${kk}>;
  subTopk(row, 0, &v1, &i1);
  subTopk(row, 1, &v2, &i2);
  // Top-TOPK of the CANDIDATES sums, in candidate order a·SUB_TOPK + b (as tfjs topk over the grid).
  var best: array<f32, ${k}>; var at: array<i32, ${k}>;
  for (var r = 0; r < TOPK; r++) { best[r] = -uniforms.INFINITY; at[r] = -1; }
  for (var c = 0; c < CANDIDATES; c++) {
    let v = v1[c / SUB_TOPK] + v2[c % SUB_TOPK];
    if (v > best[TOPK - 1] || at[TOPK - 1] < 0) {
      var p = TOPK - 1;
      loop {
        if (p == 0) { break; }
        if (!(v > best[p - 1] || at[p - 1] < 0)) { break; }
        best[p] = best[p - 1];
        at[p] = at[p - 1];
        p--;
      }
      best[p] = v;
      at[p] = c;
    }
  }
  for (var r = 0; r < TOPK; r++) {
    let c = at[r];
    setOutputAtIndexI32(row * TOPK + r, i1[c / SUB_TOPK] * SUB_KEYS + i2[c % SUB_TOPK]);
  }
}
`;
  return { key: `peerc_topk_s${n}_k${kk}_t${k}`, inputs: ["S1", "S2"], source };
}

/** σ(a) in WGSL, same definitions as runtime/layers/ops.ts (gelu: exact erf form via an erf approximation). */
function activationWgsl(act: KernelActivation): string {
  switch (act) {
    case "relu":
      return "max(a, 0.0)";
    case "sigmoid":
      return "1.0 / (1.0 + exp(-a))";
    case "tanh":
      return "tanh(a)";
    case "silu":
      return "a / (1.0 + exp(-a))";
    case "identity":
      return "a";
    case "gelu_tanh":
      return "0.5 * a * (1.0 + tanh(0.7978845608028654 * (a + 0.044715 * a * a * a)))";
    case "gelu":
      return "0.5 * a * (1.0 + erfApprox(a * 0.7071067811865476))";
  }
}

/** erf to ~1.2e-7 (Numerical Recipes erfc Chebyshev fit, as runtime/experts/activations.ts). */
const ERF = `
fn erfApprox(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 +
      t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  if (x >= 0.0) { return 1.0 - r; }
  return r - 1.0;
}
`;

/**
 * z[t, s] = G[t, s] · σ(U[id] · X[t]) with id = IDS[t·slots + s]; with `glu`,
 * z = G · σ(W[id] · X[t]) · (U[id] · X[t]) where W is the gate table.
 * Inputs: X [T, d], G [T, slots], IDS [T·slots] i32, U [N, d] (and W [N, d]).
 */
export function expertGateKernel(shape: KernelShape, act: KernelActivation, glu: boolean, shard?: ShardRange): WgslKernel {
  check(shape);
  const slots = shape.heads * shape.topk;
  const d = shape.dModel;
  const source = `
const SLOTS: i32 = ${slots};
const D: i32 = ${d};${shardConsts(shard)}
${act === "gelu" ? ERF : ""}
fn sigma(a: f32) -> f32 { return ${activationWgsl(act)}; }

fn main(index: i32) {
  if (index >= uniforms.size) { return; }
  let t = index / SLOTS;
  let id = ${local("IDS[index]", shard)};${shard ? `\n  if (!${inShard("id", shard)}) { setOutputAtIndex(index, 0.0); return; }` : ""}
  var dotU = 0.0;${glu ? "\n  var dotW = 0.0;" : ""}
  for (var j = 0; j < D; j++) {
    let x = X[t * D + j];
    dotU += U[id * D + j] * x;${glu ? "\n    dotW += W[id * D + j] * x;" : ""}
  }
  setOutputAtIndex(index, G[index] * ${glu ? "sigma(dotW) * dotU" : "sigma(dotU)"});
}
`;
  return { key: `peerc_gate_${act}${glu ? "_glu" : ""}_s${slots}_d${d}${shardKey(shard)}`, inputs: glu ? ["X", "G", "IDS", "U", "W"] : ["X", "G", "IDS", "U"], source };
}

/**
 * out[t, j] = Σ_s Z[t, s] · V[IDS[t·slots + s], j]: the expert output (V = v
 * table) and, in the backward, dx (V = u table, Z = dz·g·σ'(a)).
 * Inputs: Z [T, slots], IDS [T·slots] i32, V [N, d]. Output [T, d].
 */
export function expertMixKernel(shape: KernelShape, shard?: ShardRange): WgslKernel {
  check(shape);
  const slots = shape.heads * shape.topk;
  const d = shape.dModel;
  const source = `
const SLOTS: i32 = ${slots};
const D: i32 = ${d};${shardConsts(shard)}

fn main(index: i32) {
  if (index >= uniforms.size) { return; }
  let t = index / D;
  let j = index % D;
  var acc = 0.0;
  for (var s = 0; s < SLOTS; s++) {
    let n = t * SLOTS + s;
    let row = ${local("IDS[n]", shard)};
    if (${inShard("row", shard)}) { acc += Z[n] * V[row * D + j]; }
  }
  setOutputAtIndex(index, acc);
}
`;
  return { key: `peerc_mix_s${slots}_d${d}${shardKey(shard)}`, inputs: ["Z", "IDS", "V"], source };
}

/**
 * a[t, s] = V[IDS[t·slots + s]] · Y[t]: row-dot products (the backward's
 * dz = v_id · dy, and the pre-activations u_id · x).
 * Inputs: Y [T, d], IDS [T·slots] i32, V [N, d]. Output [T, slots].
 */
export function expertDotsKernel(shape: KernelShape, shard?: ShardRange): WgslKernel {
  check(shape);
  const slots = shape.heads * shape.topk;
  const d = shape.dModel;
  const source = `
const SLOTS: i32 = ${slots};
const D: i32 = ${d};${shardConsts(shard)}

fn main(index: i32) {
  if (index >= uniforms.size) { return; }
  let t = index / SLOTS;
  let lrow = ${local("IDS[index]", shard)};${shard ? `\n  if (!${inShard("lrow", shard)}) { setOutputAtIndex(index, 0.0); return; }` : ""}
  let row = lrow * D;
  var acc = 0.0;
  for (var j = 0; j < D; j++) { acc += V[row + j] * Y[t * D + j]; }
  setOutputAtIndex(index, acc);
}
`;
  return { key: `peerc_dots_s${slots}_d${d}${shardKey(shard)}`, inputs: ["Y", "IDS", "V"], source };
}

/** Every kernel of one PEER layer, in a fixed order (for emission next to the trainer). */
export function peerKernels(shape: KernelShape, act: KernelActivation, glu: boolean): readonly WgslKernel[] {
  return layerKernels({ kind: "peer", shape, act, glu });
}

/** What fixes a layer's kernels: its shape, and for PEER the activation and GLU (PKM runs only the top-k kernel). */
export type LayerKernelSpec =
  | { readonly kind: "peer"; readonly shape: KernelShape; readonly act: KernelActivation; readonly glu: boolean }
  | { readonly kind: "pkm"; readonly shape: KernelShape };

type ShapeFields = "subKeys" | "subTopk" | "topk" | "heads" | "keyDim" | "dModel";
/** A PEER or PKM layer of the IR or of an ARCHITECTURE literal: the fields that fix its kernels. */
export type KernelLayer = Pick<PeerLayer, "kind" | ShapeFields | "act" | "glu"> | Pick<PkmLayer, "kind" | ShapeFields>;

/** The kernel spec of a PEER or PKM layer (the shape the device layers pass to the kernels). */
export function layerKernelSpec(layer: KernelLayer): LayerKernelSpec {
  const { subKeys, subTopk, topk, heads, keyDim, dModel } = layer;
  const shape = { subKeys, subTopk, topk, heads, keyDim, dModel };
  return layer.kind === "peer" ? { kind: "peer", shape, act: layer.act, glu: layer.glu } : { kind: "pkm", shape };
}

/**
 * Every WGSL kernel a layer runs on webgpu, in a fixed order: the one list the
 * runtime checks emitted kernels against and `peerc compile` writes
 * (compiler/emit/kernels-file.ts), so the two cannot drift. With more than one
 * shard (the device's binding limit, known only at run time) the expert
 * kernels come once per shard row range.
 */
export function layerKernels(spec: LayerKernelSpec, shards?: readonly ShardRange[]): readonly WgslKernel[] {
  const { shape } = spec;
  if (spec.kind === "pkm") return [topkKernel(shape)];
  const ranges: readonly (ShardRange | undefined)[] = shards !== undefined && shards.length > 1 ? shards : [undefined];
  const perShard = (shard: ShardRange | undefined): WgslKernel[] => [
    expertGateKernel(shape, spec.act, spec.glu, shard),
    expertMixKernel(shape, shard),
    expertDotsKernel(shape, shard),
    // The backward's row gradients (kinds/peer/wgsl-rows.ts): starts per shard, one summing kernel.
    rowStartsKernel(shard?.offset ?? 0),
  ];
  return [topkKernel(shape), ...ranges.flatMap(perShard), rowGradKernel(shape)];
}

