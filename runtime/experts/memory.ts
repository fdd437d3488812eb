/**
 * Memory accounting of the expert path, static (from the IR) and as the runtime
 * holds it, so the static report can be checked against a live model.
 *
 * Per table of rows × cols: weights (rows · cols · 4 bytes), Adam m and v
 * (2 · rows · cols · 4 bytes, or · 2 bytes with bf16 moments: the train
 * section's `expert_moments`), lastStep and rowSlot (2 · rows · 4 bytes), plus
 * the gradient scratch: one
 * cols-wide row per distinct row touched in a step, at most
 * min(rows, tokens · heads · k) (the runtime grows it by up to 1.5× at a time,
 * so the live figure can exceed the estimate while a run warms up).
 */
import type { ExpertMomentPrecision, IRLayer, LayerArchitecture } from "../../ir/types.js";
import { runtimeLayerWeights } from "../../kinds/runtime.js";
import type { RuntimeLayer } from "../layers/layer.js";
import { ExpertTable } from "./sparse-table.js";

const F32 = 4;
const I32 = 4;
/** Bytes of one Adam moment value as ExpertTable stores it. */
const MOMENT_BYTES: Readonly<Record<ExpertMomentPrecision, number>> = { fp32: 4, bf16: 2 };

function tableBytes(rows: number, cols: number, touchedRows: number, moments: ExpertMomentPrecision): number {
  const resident = rows * cols * (F32 + 2 * MOMENT_BYTES[moments]) + 2 * rows * I32;
  const scratch = touchedRows * (cols * F32 + I32);
  return resident + scratch;
}

/** The expert tables of a layer's manifest (PEER u/v/g, PKM values; none for dense kinds). */
export function expertTablesOf(layer: IRLayer | LayerArchitecture): { readonly rows: number; readonly cols: number; readonly rowsPerToken: number }[] {
  return runtimeLayerWeights(layer)
    .filter((w) => w.role === "expert_table")
    .map((w) => ({ rows: w.shape[0]!, cols: w.shape[1]!, rowsPerToken: w.rowsPerToken ?? 0 }));
}

/**
 * Bytes of a layer's sparse tables with their optimizer state (0 for a layer
 * without any). `tokensPerPass` (batch · seq of one forward) adds the gradient
 * scratch; `moments` is the moments' storage (ExpertTable's `moments`).
 */
export function sparseTableBytes(layer: IRLayer | LayerArchitecture, tokensPerPass = 0, moments: ExpertMomentPrecision = "fp32"): number {
  let total = 0;
  for (const t of expertTablesOf(layer)) total += tableBytes(t.rows, t.cols, Math.min(t.rows, tokensPerPass * t.rowsPerToken), moments);
  return total;
}

/** Bytes the runtime's expert tables of `layer` hold right now (tables, moments, lastStep, scratch). */
export function runtimeExpertBytes(layer: RuntimeLayer): number {
  let total = 0;
  for (const table of layer.sparseTables) {
    if (table instanceof ExpertTable) total += table.bytes();
    else total += 3 * table.rows * table.cols * F32 + table.rows * I32;
  }
  return total;
}
