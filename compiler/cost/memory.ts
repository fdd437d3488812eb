/** Bytes of one layer: traffic per token, and training memory at a token count. */
import type { LayerCost, MemoryBytes, Precision } from "./types.js";
import { BUFFER_BYTES, ELEMENT_BYTES, EXPERT_MOMENT_BYTES, GRAD_BYTES, INDEX_BYTES, OPTIMIZER_BYTES } from "./conventions.js";

/** Forward bytes moved per token when `tokensPerPass` tokens share one read of the dense weights. */
export function trafficBytesPerToken(layer: LayerCost, precision: Precision, tokensPerPass: number): number {
  const t = layer.traffic;
  const elements = t.weightElementsPerPass / tokensPerPass + t.weightElementsPerToken + t.activationElementsPerToken;
  return ELEMENT_BYTES[precision] * elements + t.indexBytesPerToken;
}

/**
 * Parameters that receive a gradient in one step of `tokensPerStep` tokens:
 * every dense parameter, and of each sparse table only the rows it can touch,
 * at most min(rows, tokens · rows per token).
 */
export function gradientParams(layer: LayerCost, tokensPerStep: number): bigint {
  let sparse = 0n;
  let touched = 0n;
  for (const table of layer.sparseTables) {
    const rowsTotal = table.rows * BigInt(table.cols);
    sparse += rowsTotal;
    const reach = BigInt(Math.min(Number.MAX_SAFE_INTEGER, Math.ceil(tokensPerStep * table.rowsPerToken)));
    const rows = reach < table.rows ? reach : table.rows;
    touched += rows * BigInt(table.cols);
  }
  return layer.params - sparse + touched;
}

/**
 * Optimizer bytes per element of a sparse table: OPTIMIZER_BYTES with the
 * moments at the layer's `expertMoments` (bf16 moments: 4 bytes fewer).
 */
function sparseOptimizerBytes(layer: LayerCost, precision: Precision): number {
  return OPTIMIZER_BYTES[precision] - EXPERT_MOMENT_BYTES.fp32 + EXPERT_MOMENT_BYTES[layer.expertMoments];
}

/** Elements of a layer's sparse tables (rows × cols summed). */
function sparseElements(layer: LayerCost): number {
  return layer.sparseTables.reduce((s, t) => s + Number(t.rows) * t.cols, 0);
}

/**
 * Training memory of a layer's sparse tables alone (PEER u/v, PKM values), as
 * layerTrainMemory counts them: weights and AdamW moments (fp32 or bf16, the
 * layer's `expertMoments`) for every row, a gradient for the rows a step of
 * `tokensPerStep` can touch. The runtime's ExpertTable holds the same plus 8
 * bytes of bookkeeping per row (lastStep, rowSlot), under 1% at any realistic
 * width (test/runtime/preflight.test.ts).
 */
export function sparseTableTrainBytes(layer: LayerCost, precision: Precision, tokensPerStep: number): number {
  let bytes = 0;
  const perElement = ELEMENT_BYTES[precision] + sparseOptimizerBytes(layer, precision);
  for (const table of layer.sparseTables) {
    const rows = Number(table.rows);
    const touched = Math.min(rows, Math.ceil(tokensPerStep * table.rowsPerToken));
    bytes += perElement * rows * table.cols + GRAD_BYTES[precision] * touched * table.cols;
  }
  return bytes;
}

export function activationBytesPerToken(layer: LayerCost, precision: Precision): number {
  return ELEMENT_BYTES[precision] * layer.savedElementsPerToken + INDEX_BYTES * layer.savedIndicesPerToken;
}

/** Training memory of one layer: state for a step of `tokensPerStep`, activations for one pass. */
export function layerTrainMemory(
  layer: LayerCost,
  precision: Precision,
  tokensPerStep: number,
  tokensPerPass: number,
): MemoryBytes {
  const params = Number(layer.params);
  const weights = ELEMENT_BYTES[precision] * params;
  const grads = GRAD_BYTES[precision] * Number(gradientParams(layer, tokensPerStep));
  const sparse = sparseElements(layer);
  const optimizer = OPTIMIZER_BYTES[precision] * (params - sparse) + sparseOptimizerBytes(layer, precision) * sparse;
  const buffers = BUFFER_BYTES * Number(layer.buffers);
  const activations = activationBytesPerToken(layer, precision) * tokensPerPass;
  return { weights, grads, optimizer, buffers, activations, total: weights + grads + optimizer + buffers + activations };
}

export function addMemory(a: MemoryBytes, b: MemoryBytes): MemoryBytes {
  return {
    weights: a.weights + b.weights,
    grads: a.grads + b.grads,
    optimizer: a.optimizer + b.optimizer,
    buffers: a.buffers + b.buffers,
    activations: a.activations + b.activations,
    total: a.total + b.total,
  };
}

export const NO_MEMORY: MemoryBytes = { weights: 0, grads: 0, optimizer: 0, buffers: 0, activations: 0, total: 0 };

/**
 * What a trainer's memory preflight needs from the cost model, for fp32
 * training: the dense parameter count (expert tables excluded: the runtime
 * sizes those itself), the bytes of non-trainable buffers, and the
 * activation bytes kept per token of a forward pass. The emitter writes these
 * into each trainer, so the runtime never imports the cost model.
 */
export interface DenseMemoryFigures {
  readonly denseParams: number;
  readonly bufferBytes: number;
  readonly activationBytesPerToken: number;
}

export function denseMemoryFigures(layers: readonly LayerCost[]): DenseMemoryFigures {
  let denseParams = 0;
  let bufferBytes = 0;
  let activationBytesPerToken_ = 0;
  for (const layer of layers) {
    denseParams += Number(layer.params) - sparseElements(layer);
    bufferBytes += BUFFER_BYTES * Number(layer.buffers);
    activationBytesPerToken_ += activationBytesPerToken(layer, "fp32");
  }
  return { denseParams, bufferBytes, activationBytesPerToken: activationBytesPerToken_ };
}
