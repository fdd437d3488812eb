/** The `attention` kind, compiler side: one record, registered once in kinds/index.ts. */
import { defineKind } from "../kind.js";
import { attention } from "./check.js";
import { attentionCost } from "./cost.js";
import { attentionWeights } from "./weights.js";
import { emitAttention } from "./emit.js";
import { torchAttention } from "./torch.js";

export const attentionKind = defineKind({
  kind: "attention",
  check: attention,
  cost: attentionCost,
  weights: attentionWeights,
  emit: emitAttention,
  torch: torchAttention,
  summary: (a) => `${a.heads}×${a.head_dim}${a.kv_heads !== a.heads ? ` kv ${a.kv_heads}` : ""}, T ${a.context}${a.rope_base !== undefined ? ", rope" : ""}`,
  budgetHelp: {
    compute: (where) => `use a shorter context or fewer heads${where} (scores cost 4·heads·head_dim·context per token)`,
  },
});
