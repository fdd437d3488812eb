/** attention: wq, wk, wv [d, heads·hd | kv·hd], wo [heads·hd, d] (output init), optional biases. */
import type { AttentionLayer } from "../../ir/types.js";
import { dense, NORMAL, noDecay, OUTPUT_NORMAL, ZEROS, type WeightManifest, type WeightSpec } from "../manifest.js";

export function attentionWeights(layer: Pick<AttentionLayer, "dModel" | "heads" | "kvHeads" | "headDim" | "bias">): WeightManifest {
  const { dModel, heads, kvHeads, headDim } = layer;
  const q = heads * headDim;
  const kv = kvHeads * headDim;
  const out: WeightSpec[] = [
    dense("wq", [dModel, q], NORMAL),
    dense("wk", [dModel, kv], NORMAL),
    dense("wv", [dModel, kv], NORMAL),
    dense("wo", [q, dModel], OUTPUT_NORMAL),
  ];
  if (layer.bias) {
    out.push(noDecay("bq", [q], ZEROS), noDecay("bk", [kv], ZEROS), noDecay("bv", [kv], ZEROS), noDecay("bo", [dModel], ZEROS));
  }
  return out;
}
