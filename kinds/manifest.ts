/**
 * The weight manifest of a layer kind: every tensor an IR layer owns, declared
 * once, with its name, shape, initialisation and role. The runtime factories,
 * checkpoints, `--export` (docs/weights.md), the memory preflight and the
 * emitters read names and shapes from here instead of retyping
 * `${path}.query.bn.running_mean`.
 *
 * A "kind-contract" file (test/architecture/imports.test.ts): imports only ir/
 * and diagnostics/, so both the compiler and the runtime may read it.
 */

/**
 * How a tensor starts. Two random sources, as the runtime has always drawn them:
 * - `normal`: N(0, std²) from the tensor's own stream, seeded by (model seed,
 *   full weight name) — independent of build order. `std: "output"` is the
 *   scaled output projection 0.02/√(2·blocks).
 * - `layer_normal`, `layer_uniform`: drawn from the layer's stream, seeded by
 *   (model seed, layer path), in the manifest's order (product-key layers).
 */
export type WeightInit =
  | { readonly kind: "zeros" }
  | { readonly kind: "ones" }
  | { readonly kind: "normal"; readonly std: number | "output" }
  | { readonly kind: "layer_normal"; readonly std: number }
  | { readonly kind: "layer_uniform"; readonly bound: number };

/**
 * - `dense`: an ordinary trained tensor (a tfjs variable; dense gradient, AdamW).
 * - `expert_table`: a row-sparse table [rows, cols] kept on the host (PEER
 *   u/v/g, PKM values): rows are gathered, only touched rows get gradients
 *   and optimizer updates (runtime/experts/sparse-table.ts).
 * - `buffer`: non-trained state that checkpoints and export keep (BatchNorm
 *   running statistics).
 */
export type WeightRole = "dense" | "expert_table" | "buffer";

export interface WeightSpec {
  /** Relative to the layer path: the full name is `${layer.path}.${name}`, e.g. "query.bn.running_mean". */
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: WeightInit;
  readonly role: WeightRole;
  /**
   * In weight decay by default. False for norms, biases, embeddings and expert
   * tables (decayed only with `decay_all`); always false for buffers.
   */
  readonly decay: boolean;
  /** Expert tables only: rows gathered per token (h·k), which bounds the rows a step touches. */
  readonly rowsPerToken?: number;
}

/** The manifest of one layer, in creation (and layer-stream draw) order. */
export type WeightManifest = readonly WeightSpec[];

/** `${path}.${name}`: the weight's checkpoint and export name. */
export function weightName(path: string, spec: Pick<WeightSpec, "name">): string {
  return `${path}.${spec.name}`;
}

/** Number of values of a shape (a JS number: one tensor is far below 2^53). */
export function weightSize(spec: Pick<WeightSpec, "shape">): number {
  return spec.shape.reduce((a, b) => a * b, 1);
}

/** Small constructors, so manifests read as one line per tensor. */
export const dense = (name: string, shape: readonly number[], init: WeightInit, decay = true): WeightSpec => ({ name, shape, init, role: "dense", decay });
export const noDecay = (name: string, shape: readonly number[], init: WeightInit): WeightSpec => dense(name, shape, init, false);
export const expertTable = (name: string, rows: number, cols: number, init: WeightInit, rowsPerToken: number): WeightSpec => ({
  name,
  shape: [rows, cols],
  init,
  role: "expert_table",
  decay: false,
  rowsPerToken,
});
export const buffer = (name: string, shape: readonly number[], init: WeightInit): WeightSpec => ({ name, shape, init, role: "buffer", decay: false });

/** GPT-2's 0.02, the std of ordinary matrices. */
export const INIT_STD = 0.02;
export const ZEROS: WeightInit = { kind: "zeros" };
export const ONES: WeightInit = { kind: "ones" };
export const NORMAL: WeightInit = { kind: "normal", std: INIT_STD };
export const OUTPUT_NORMAL: WeightInit = { kind: "normal", std: "output" };
