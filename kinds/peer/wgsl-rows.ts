/**
 * WGSL kernels for a PEER table's row gradient without the [T·h·k, d]
 * intermediate (coef ⊗ y per slot) that tf.unsortedSegmentSum needs: at the
 * paper's shape (d 1024, h 8, k 16, 8,192 tokens) that operand is 4 GiB, above
 * any storage-binding limit. WGSL has no f32 atomics, so the slots are first
 * sorted by row (kinds/peer/device-kernels.ts: tfjs's bitonic top-k over the
 * negated ids, a fixed comparison network with ties broken by slot index, so
 * the order is a pure function of the ids), then:
 *
 * - rowStarts: starts[r] = first sorted position whose id ≥ OFFSET + r,
 *              r = 0 … rows (binary search; starts[rows] ends the shard)   [rows + 1] i32
 * - rowGrad:   grad[r, j] = Σ_{p ∈ [starts[r], starts[r+1])} coef[s_p] · y[t(s_p), j]
 *              with s_p = order[p] the slot, t(s) = s / (h·k) its token    [rows, d]
 *
 * Each output element sums its row's slots in sorted order: deterministic
 * (no atomics), so a resumed run repeats an uninterrupted one exactly. Memory:
 * two int32 arrays of T·h·k and rows + 1, plus the dense [rows, d] result
 * (the same dense gradient tf.gather's gradient gives). A sharded table runs
 * rowStarts once per shard (its OFFSET) and rowGrad on that shard's starts.
 * Same conventions as kinds/peer/wgsl.ts: the body tfjs-backend-webgpu
 * expects, constants in the source, one invocation per output element.
 */
// No import from ./wgsl.js (it lists these kernels in layerKernels): the two types below are
// structural subsets of its KernelShape and WgslKernel.

/** The fields of a layer's KernelShape (kinds/peer/wgsl.ts) the row kernels depend on. */
export interface RowKernelShape {
  readonly heads: number;
  readonly topk: number;
  readonly dModel: number;
}

/** A kernel body as kinds/peer/wgsl.ts's WgslKernel: key, input names in binding order, source. */
export interface RowKernel {
  readonly key: string;
  readonly inputs: readonly string[];
  readonly source: string;
}

/**
 * Sorted positions where each row of a shard starting at global row `offset`
 * begins. Input sortedIds [M] i32 (ascending). Output [rows + 1] i32.
 * M comes from tfjs's shape uniform, so one pipeline serves every batch size.
 */
export function rowStartsKernel(offset: number): RowKernel {
  if (!Number.isInteger(offset) || offset < 0) throw new Error(`wgsl: shard offset must be a non-negative integer, got ${offset}`);
  const source = `
const OFFSET: i32 = ${offset};

// First position p with sortedIds[p] >= id (M when there is none).
fn lowerBound(id: i32) -> i32 {
  var lo = 0;
  var hi = uniforms.sortedIdsShape;
  loop {
    if (lo >= hi) { break; }
    let mid = (lo + hi) / 2;
    if (sortedIds[mid] < id) { lo = mid + 1; } else { hi = mid; }
  }
  return lo;
}

fn main(index: i32) {
  if (index >= uniforms.size) { return; }
  setOutputAtIndexI32(index, lowerBound(OFFSET + index));
}
`;
  return { key: `peerc_rowstarts${offset > 0 ? `_o${offset}` : ""}`, inputs: ["sortedIds"], source };
}

/**
 * Row gradient of one shard: grad[r, j] = Σ over the slots routed to row r of
 * coef[slot] · y[token, j], in sorted-slot order.
 * Inputs: coef [T·h·k] f32, y [T, d] f32, slotOrder [T·h·k] i32 (slots sorted
 * by row), rowStarts [rows + 1] i32 (rowStartsKernel). Output [rows, d].
 */
export function rowGradKernel(shape: RowKernelShape): RowKernel {
  const slots = shape.heads * shape.topk;
  const d = shape.dModel;
  for (const [name, v] of Object.entries({ slots, d })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`wgsl: ${name} must be a positive integer, got ${v}`);
  }
  const source = `
const SLOTS: i32 = ${slots};
const D: i32 = ${d};

fn main(index: i32) {
  if (index >= uniforms.size) { return; }
  let r = index / D;
  let j = index - r * D;
  let end = rowStarts[r + 1];
  var acc = 0.0;
  for (var p = rowStarts[r]; p < end; p++) {
    let slot = slotOrder[p];
    acc += coef[slot] * y[(slot / SLOTS) * D + j];
  }
  setOutputAtIndex(index, acc);
}
`;
  return { key: `peerc_rowgrad_s${slots}_d${d}`, inputs: ["coef", "y", "slotOrder", "rowStarts"], source };
}
