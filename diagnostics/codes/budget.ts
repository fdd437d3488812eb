/** Diagnostic codes of the budget gate (E06xx). Codes never change meaning. */
import type { CatalogEntry } from "../diagnostic.js";

export const BUDGET_EXCEEDED = "E0601";
export const BUDGET_UNDER_MINIMUM = "E0602";
export const BUDGET_NOT_EQUAL = "E0603";
export const BUDGET_NEEDS_TRAIN = "E0604";
export const BUDGET_TARGET_UNKNOWN = "E0605";
/** Raised by the cost model itself (compiler/cost/layer.ts). */
export const COST_INTERNAL = "E0690";

export const BUDGET_CATALOG: readonly CatalogEntry[] = [
  { code: BUDGET_EXCEEDED, severity: "error", title: "a figure is over its budget (`<=` or `<`)" },
  { code: BUDGET_UNDER_MINIMUM, severity: "error", title: "a figure is under its minimum (`>=` or `>`)" },
  { code: BUDGET_NOT_EQUAL, severity: "error", title: "a figure differs from its `==` budget" },
  { code: BUDGET_NEEDS_TRAIN, severity: "error", title: "the budget's metric needs a `train` section for this model" },
  { code: BUDGET_TARGET_UNKNOWN, severity: "error", title: "the budget's target has no peak to estimate with (pass --cpu-peak)" },
  { code: COST_INTERNAL, severity: "error", title: "internal error: a layer kind without a cost formula" },
];
