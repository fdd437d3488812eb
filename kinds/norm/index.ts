/** The `norm` kind, compiler side: one record, registered once in kinds/index.ts. */
import { defineKind } from "../kind.js";
import { norm } from "./check.js";
import { normCost } from "./cost.js";
import { normWeights } from "./weights.js";
import { emitNorm } from "./emit.js";
import { torchNorm } from "./torch.js";

export const normKind = defineKind({
  kind: "norm",
  check: norm,
  cost: normCost,
  weights: normWeights,
  emit: emitNorm,
  torch: torchNorm,
  summary: (a) => `${a.type} ${a.dim}`,
});
