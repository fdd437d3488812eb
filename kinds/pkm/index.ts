/** The `pkm` kind, compiler side: one record, registered once in kinds/index.ts. */
import { defineKind } from "../kind.js";
import { squareCount } from "../product-keys/summary.js";
import { pkm } from "./check.js";
import { pkmCost } from "./cost.js";
import { pkmWeights } from "./weights.js";
import { emitPkm } from "./emit.js";
import { torchPkm } from "./torch.js";

export const pkmKind = defineKind({
  kind: "pkm",
  check: pkm,
  cost: pkmCost,
  weights: pkmWeights,
  emit: emitPkm,
  torch: torchPkm,
  summary: (a) => `N ${squareCount(Number(a.memories))}, h ${a.heads}, k ${a.topk}, dk ${a.key_dim}`,
  budgetHelp: {
    size: (where) => `use fewer memories${where} (the tables are 2·N·d for PEER, N·value_dim for PKM), or raise the limit`,
    compute: (where) => `use a smaller key_dim or fewer heads${where}: the query net and sub-key scores are most of a product-key layer's FLOPs`,
  },
});
