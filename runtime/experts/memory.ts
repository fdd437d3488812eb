/**
 * Memory accounting of the expert path, static (from the IR) and as the runtime
 * holds it, so the static report can be checked against a live model.
 *
 * Per table of rows × cols: weights, Adam m and v (3 · rows · cols · 4 bytes),
 * lastStep and rowSlot (2 · rows · 4 bytes), plus the gradient scratch: one
 * cols-wide row per distinct row touched in a step, at most
 * min(rows, tokens · heads · k) (the runtime grows it by up to 1.5× at a time,
 * so the live figure can exceed the estimate while a run warms up).
 */
import type { PeerLayer, PkmLayer } from "../../ir/types.js";
import type { RuntimeLayer } from "../layers/layer.js";
import { ExpertTable } from "./sparse-table.js";

const F32 = 4;
const I32 = 4;

function tableBytes(rows: number, cols: number, touchedRows: number): number {
  const resident = 3 * rows * cols * F32 + 2 * rows * I32;
  const scratch = touchedRows * (cols * F32 + I32);
  return resident + scratch;
}

/**
 * Bytes of the sparse tables of a PEER or PKM layer with their optimizer state.
 * `tokensPerPass` (batch · seq of one forward) adds the gradient scratch.
 */
export function sparseTableBytes(layer: PeerLayer | PkmLayer, tokensPerPass = 0): number {
  const rows = layer.kind === "peer" ? layer.experts : layer.memories;
  const cols = layer.kind === "peer" ? layer.dModel : layer.valueDim;
  const tables = layer.kind === "peer" ? 2 : 1;
  const touched = Math.min(rows, tokensPerPass * layer.heads * layer.topk);
  return tables * tableBytes(rows, cols, touched);
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
