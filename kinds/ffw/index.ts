/** The `ffw` kind, compiler side: one record, registered once in kinds/index.ts. */
import { defineKind } from "../kind.js";
import { ffw } from "./check.js";
import { ffwCost } from "./cost.js";
import { ffwWeights } from "./weights.js";
import { emitFfw } from "./emit.js";
import { torchFfw } from "./torch.js";

export const ffwKind = defineKind({
  kind: "ffw",
  check: ffw,
  cost: ffwCost,
  weights: ffwWeights,
  emit: emitFfw,
  torch: torchFfw,
  summary: (a) => `${a.d_model}→${a.hidden} ${a.act}${a.glu ? " glu" : ""}`,
  budgetHelp: {
    compute: (where) => `use a smaller hidden width${where}`,
  },
});
