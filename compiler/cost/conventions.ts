/**
 * The counting rules every figure follows. The report prints CONVENTIONS in
 * every format, so a number never travels without its definition.
 */
import type { Precision } from "./types.js";

/** Backward work = this × forward work, for matrix and elementwise work alike. */
export const BACKWARD_FACTOR = 2;

/** Bytes per float element of weights and activations at each precision. */
export const ELEMENT_BYTES: Readonly<Record<Precision, number>> = { fp32: 4, bf16: 2 };

/**
 * Bytes of training state per trainable parameter beyond its weight:
 * fp32 — fp32 gradient (4) + AdamW m, v (8);
 * bf16 — mixed precision as in ZeRO (Rajbhandari et al. 2020, 16 bytes/param):
 *        bf16 gradient (2) + fp32 master copy, m, v (12).
 */
export const GRAD_BYTES: Readonly<Record<Precision, number>> = { fp32: 4, bf16: 2 };
export const OPTIMIZER_BYTES: Readonly<Record<Precision, number>> = { fp32: 8, bf16: 12 };

/**
 * Bytes of Adam's m and v per element of a sparse expert table, by the train
 * section's `expert_moments` (IROptimizer.expertMoments): two floats, or two
 * bfloat16s. They replace the 8 fp32 moment bytes inside OPTIMIZER_BYTES at
 * either precision (the bf16 master copy stays fp32).
 */
export const EXPERT_MOMENT_BYTES: Readonly<Record<"fp32" | "bf16", number>> = { fp32: 8, bf16: 4 };

/** One AdamW update reads p, g, m, v and writes p, m, v: 7 fp32-sized values per parameter. */
export const OPTIMIZER_TRAFFIC_BYTES_PER_PARAM = 28;

/** Buffers (batch-norm running statistics) are kept in fp32 at either precision. */
export const BUFFER_BYTES = 4;
export const INDEX_BYTES = 4;

/** Elementwise FLOPs per element of the normalisations (see docs/cost-model.md). */
export const RMS_NORM_FLOPS_PER_ELEMENT = 4;
export const MEAN_NORM_FLOPS_PER_ELEMENT = 7;
/** exp, sum, divide. */
export const SOFTMAX_FLOPS_PER_ELEMENT = 3;

export const CONVENTIONS: readonly string[] = [
  "one multiply-add = 2 FLOPs (MACs = matrix FLOPs / 2, shown apart)",
  "elementwise work counts 1 FLOP per element per operation (add, multiply, activation, exp); softmax = 3 per element, RMSNorm = 4, LayerNorm/BatchNorm = 7",
  "backward = 2 × forward for matrix and elementwise work; a training step = 3 × forward",
  "top-k, gathers and scatters count 0 FLOPs; their bytes are memory traffic",
  "attention scores count the full T × T (causal masking is not halved), T = the model's context",
  "tied weights count once (at the embedding); the tied lm_head's matmul FLOPs count",
  "active params: parameters that take part in one token's forward (PEER/PKM: retrieved rows + all sub-keys + query net)",
  "memory: fp32 = 4 B weight + 4 B grad + 8 B AdamW; bf16 = 2 B weight + 2 B grad + 12 B fp32 master/m/v; activations kept for backward at micro-batch × context tokens",
  "sparse tables (PEER u/v, PKM values): Adam moments for every row, gradients only for touched rows (≤ min(rows, tokens/step · h·k))",
  "traffic per token: weights read once per forward pass are shared by its micro-batch × context tokens; gathered rows are read per token",
  "roofline: step time = Σ layers max(FLOPs / peak, bytes / bandwidth), backward moves 2 × the forward bytes, plus the AdamW update's bytes",
];
