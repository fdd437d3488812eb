/** The `embed` kind, compiler side: one record, registered once in kinds/index.ts. */
import { defineKind } from "../kind.js";
import { embed } from "./check.js";
import { embedCost } from "./cost.js";
import { embedWeights } from "./weights.js";
import { emitEmbed } from "./emit.js";
import { torchEmbed } from "./torch.js";

export const embedKind = defineKind({
  kind: "embed",
  check: embed,
  cost: embedCost,
  weights: embedWeights,
  emit: emitEmbed,
  torch: torchEmbed,
  summary: (a) => `${a.vocab}×${a.dim}`,
  budgetHelp: {
    size: (_where) => `use a smaller vocabulary or width, or tie the lm_head to the embedding`,
  },
});
