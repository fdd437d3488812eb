/** The `positions` kind, compiler side: one record, registered once in kinds/index.ts. */
import { defineKind } from "../kind.js";
import { positions } from "./check.js";
import { positionsCost } from "./cost.js";
import { positionsWeights } from "./weights.js";
import { emitPositions } from "./emit.js";
import { torchPositions } from "./torch.js";

export const positionsKind = defineKind({
  kind: "positions",
  check: positions,
  cost: positionsCost,
  weights: positionsWeights,
  emit: emitPositions,
  torch: torchPositions,
  summary: (a) => `${a.context}×${a.dim}`,
});
