/** The `moe` kind, compiler side: one record, registered once in kinds/index.ts. */
import { defineKind } from "../kind.js";
import { moe } from "./check.js";
import { moeCost } from "./cost.js";
import { moeWeights } from "./weights.js";
import { emitMoe } from "./emit.js";
import { torchMoe } from "./torch.js";

export const moeKind = defineKind({
  kind: "moe",
  check: moe,
  cost: moeCost,
  weights: moeWeights,
  emit: emitMoe,
  torch: torchMoe,
  summary: (a) => `E ${a.experts}×${a.hidden}, ${a.routing === "token" ? `top-${a.topk}` : `expert c ${a.capacity}`}`,
  budgetHelp: {
    size: (where) => `use fewer or narrower experts${where}, or raise the limit`,
    compute: (where) => `use a smaller hidden width${where}`,
  },
});
