/**
 * The contract between the model (runtime/model), the layers (runtime/layers)
 * and the training loop (runtime/train). Activations flow as 2-D tensors
 * [batch·seq, width]: every weight matmul stays 2-D, which is the fast path on
 * wasm and sidesteps tfjs's broken [B,T,d]×[d,e] gradient (docs/runtime.md).
 */
import type * as tf from "@tensorflow/tfjs";
import type { LayerKind } from "../../ir/types.js";

export interface NamedVariable {
  /** "<layer path>.<part>", e.g. "blocks.3.mix.attention.wq". Also the checkpoint and export name. */
  readonly name: string;
  readonly variable: tf.Variable;
  /** Excluded from weight decay unless the spec says `decay_all` (norms, biases, embeddings). */
  readonly noDecay: boolean;
  /** "table": an expert table held as a variable (device backends); AdamW gives it the tables' learning rate. */
  readonly lrGroup?: "table";
  /**
   * Device expert tables only: [rows] float32, 1 for the rows retrieved by a
   * backward pass since the last update. AdamW then updates only those rows,
   * with the host tables' lazy semantics (runtime/experts/lazy-adamw.ts), and
   * clears the mask.
   */
  readonly rowMask?: tf.Variable;
}

/** Hyper-parameters of one sparse (lazy) AdamW step. */
export interface SparseStepConfig {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** 1-based optimizer step, for bias correction. */
  readonly step: number;
}

/**
 * A row-sparse parameter table (PEER u and v, PKM values) kept outside tfjs in
 * plain Float32Arrays. The forward gathers rows; the backward delivers gradients
 * for those rows only; the optimizer updates only touched rows and their moments.
 * No dense rows × cols gradient ever exists.
 */
export interface SparseTable {
  readonly name: string;
  readonly rows: number;
  readonly cols: number;
  /** Gather rows (differentiable: row gradients are accumulated inside the table). ids: int32 [n]. */
  gather(ids: tf.Tensor1D): tf.Tensor2D;
  /** Sum of squared accumulated gradients (for global-norm clipping). */
  gradSquaredNorm(): number;
  /** Multiply accumulated gradients by `factor` (clipping, micro-batch averaging). */
  scaleGrads(factor: number): void;
  /** Lazy AdamW on the touched rows; clears the accumulated gradients. */
  step(config: SparseStepConfig): void;
  zeroGrads(): void;
  /** Number of distinct rows with a pending gradient. */
  readonly touchedRows: number;
  /** Named raw arrays for checkpoints: the table and its optimizer state. */
  state(): { readonly name: string; readonly data: Float32Array; readonly shape: readonly number[] }[];
  loadState(name: string, data: Float32Array): void;
}

/** Routing record of one product-key layer for one forward pass (expert usage metrics). */
export interface RoutingRecord {
  readonly path: string;
  readonly numExperts: number;
  /** Selected expert ids, flattened [tokens · heads · k]. */
  readonly ids: Int32Array;
  /** Their router weights g_i(x), same layout. */
  readonly weights: Float32Array;
}

export interface ForwardContext {
  readonly training: boolean;
  /** Sequences in this pass and tokens per sequence: activations are [batch·seqLen, width]. */
  readonly batch: number;
  readonly seqLen: number;
  /** Extra training losses (MoE load balancing), summed into the loss. */
  addAuxLoss(loss: tf.Scalar): void;
  /** Set when the caller wants routing statistics (evaluation); layers without routing ignore it. */
  readonly recordRouting: ((record: RoutingRecord) => void) | null;
}

export interface RuntimeLayer {
  readonly path: string;
  readonly kind: LayerKind;
  readonly variables: readonly NamedVariable[];
  readonly sparseTables: readonly SparseTable[];
  /** x: [batch·seqLen, width] → [batch·seqLen, width'] (embed takes int32 ids [batch·seqLen]). */
  apply(x: tf.Tensor, ctx: ForwardContext): tf.Tensor;
  /** Non-trainable state that checkpoints must keep (BatchNorm running statistics). */
  buffers(): { readonly name: string; readonly tensor: tf.Variable }[];
}
