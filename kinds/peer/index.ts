/** The `peer` kind, compiler side: one record, registered once in kinds/index.ts. */
import { defineKind } from "../kind.js";
import { squareCount } from "../product-keys/summary.js";
import { peer } from "./check.js";
import { peerCost } from "./cost.js";
import { peerWeights } from "./weights.js";
import { emitPeer } from "./emit.js";
import { torchPeer } from "./torch.js";

export const peerKind = defineKind({
  kind: "peer",
  check: peer,
  cost: peerCost,
  weights: peerWeights,
  emit: emitPeer,
  torch: torchPeer,
  summary: (a) => `N ${squareCount(Number(a.experts))}, h ${a.heads}, k ${a.topk}, dk ${a.key_dim}${a.glu ? ", glu" : ""}`,
  budgetHelp: {
    size: (where) => `use fewer experts${where} (the tables are 2·N·d for PEER, N·value_dim for PKM), or raise the limit`,
    compute: (where) => `use a smaller key_dim or fewer heads${where}: the query net and sub-key scores are most of a product-key layer's FLOPs`,
  },
});
