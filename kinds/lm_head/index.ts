/** The `lm_head` kind, compiler side: one record, registered once in kinds/index.ts. */
import { defineKind } from "../kind.js";
import { lmHead } from "./check.js";
import { lmHeadCost } from "./cost.js";
import { lmHeadWeights } from "./weights.js";
import { emitLmHead } from "./emit.js";
import { torchLmHead } from "./torch.js";

export const lmHeadKind = defineKind({
  kind: "lm_head",
  check: lmHead,
  cost: lmHeadCost,
  weights: lmHeadWeights,
  emit: emitLmHead,
  torch: torchLmHead,
  summary: (a) => `${a.d_model}→${a.vocab}${a.tied ? " tied" : ""}`,
  budgetHelp: {
    size: (_where) => `use a smaller vocabulary or width, or tie the lm_head to the embedding`,
    compute: (_where) => `use a smaller vocabulary (the head costs 2·d·vocab per token)`,
  },
});
