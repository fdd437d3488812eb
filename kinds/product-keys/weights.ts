/**
 * The query side shared by pkm and peer, in the order the layer's stream draws
 * it: query.w [d, h·dk] U(±1/√d) (PyTorch Linear), query.b [h·dk], the query
 * norm's gamma/beta (`bn` or `ln`) and, for batch norm, the running statistics
 * as buffers; sub-keys keys.1, keys.2 [dk/2, √N] U(±1/√(dk/2)) (XLM PKM), one
 * pair per head (`keys.<head>.1`) when keys are per head.
 */
import type { KeySharing, QueryNorm } from "../../ir/types.js";
import { buffer, dense, noDecay, ONES, ZEROS, type WeightSpec } from "../manifest.js";

export interface QueryShape {
  readonly dModel: number;
  readonly heads: number;
  readonly keyDim: number;
  readonly subKeys: number;
  readonly queryNorm: QueryNorm;
  readonly keys: KeySharing;
  readonly queryBias: boolean;
}

/** Sub-key names of key set `set` (0 when shared): [half 1, half 2]. */
export function subKeyNames(shape: Pick<QueryShape, "keys">, set: number): readonly [string, string] {
  const prefix = shape.keys === "shared" ? "keys" : `keys.${set}`;
  return [`${prefix}.1`, `${prefix}.2`];
}

export function queryWeights(shape: QueryShape): WeightSpec[] {
  const { dModel, heads, keyDim, subKeys } = shape;
  const width = heads * keyDim;
  const half = keyDim / 2;
  const out: WeightSpec[] = [dense("query.w", [dModel, width], { kind: "layer_uniform", bound: 1 / Math.sqrt(dModel) })];
  if (shape.queryBias) out.push(noDecay("query.b", [width], ZEROS));
  if (shape.queryNorm !== "none") {
    const norm = shape.queryNorm === "batch" ? "bn" : "ln";
    out.push(noDecay(`query.${norm}.gamma`, [width], ONES), noDecay(`query.${norm}.beta`, [width], ZEROS));
  }
  if (shape.queryNorm === "batch") {
    out.push(buffer("query.bn.running_mean", [width], ZEROS), buffer("query.bn.running_var", [width], ONES));
  }
  const sets = shape.keys === "shared" ? 1 : heads;
  const bound = 1 / Math.sqrt(half);
  for (let set = 0; set < sets; set++) {
    for (const name of subKeyNames(shape, set)) out.push(dense(name, [half, subKeys], { kind: "layer_uniform", bound }));
  }
  return out;
}
