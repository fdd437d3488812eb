/**
 * What the cost model computes for one layer and one model. Counts of
 * parameters are BigInt (a 1M-expert table times d passes 2^31 quickly);
 * FLOPs, bytes and element counts per token are JS numbers.
 */
import type { ExpertMomentPrecision, IRLayer, IRModel, LayerKind } from "../../ir/types.js";
import type { Span } from "../../diagnostics/source.js";

/** One named piece of forward work per token. Matrix work is 2 FLOPs per multiply-add. */
export interface FlopTerm {
  readonly name: string;
  readonly matrix: number;
  readonly elementwise: number;
}

export interface FlopSplit {
  readonly matrix: number;
  readonly elementwise: number;
}

/** Parameters stored as row-sparse tables (PEER u/v, PKM values): only touched rows get gradients. */
export interface SparseTableCost {
  readonly name: string;
  readonly rows: bigint;
  readonly cols: number;
  /** Rows gathered per token (h·k): bounds the rows that get a gradient in a step. */
  readonly rowsPerToken: number;
}

/**
 * Memory traffic of one forward pass, in elements (multiplied by the bytes of
 * the precision later) plus int32 index bytes.
 */
export interface TrafficCost {
  /** Weights read once per forward pass whatever the token count (dense matrices, sub-keys, norms). */
  readonly weightElementsPerPass: number;
  /** Weights read per token (gathered rows of sparse tables, the token's embedding row). */
  readonly weightElementsPerToken: number;
  /** Activations read plus written per token. */
  readonly activationElementsPerToken: number;
  /** Bytes of int32 indices written and read per token (top-k results, gather ids). */
  readonly indexBytesPerToken: number;
}

/** Work that costs no FLOPs but moves bytes: selection and gathers. */
export interface NonFlopWork {
  /** Scores examined by top-k selections per token. */
  readonly topkCandidates: number;
  /** Rows gathered per token (and their width). */
  readonly gatheredRows: number;
  readonly gatheredRowWidth: number;
}

/** What one kind's formula returns; the shared bookkeeping is added by `layerCost`. */
export interface KindCost {
  readonly paramsBreakdown: Readonly<Record<string, bigint>>;
  /** Non-trainable state (batch-norm running statistics). */
  readonly buffersBreakdown: Readonly<Record<string, bigint>>;
  readonly activeParams: bigint;
  readonly terms: readonly FlopTerm[];
  /** Float activations saved for backward per token (elements). */
  readonly savedElementsPerToken: number;
  /** int32 values saved for backward per token (indices). */
  readonly savedIndicesPerToken: number;
  readonly traffic: TrafficCost;
  readonly sparseTables: readonly SparseTableCost[];
  readonly nonFlop: NonFlopWork;
  /** Parameters owned by another layer (tied lm_head): their traffic counts here, their params do not. */
  readonly sharedParams: bigint;
}

export interface LayerCost extends KindCost {
  readonly path: string;
  readonly kind: LayerKind;
  readonly index: number;
  readonly span: Span;
  /** Resolved arguments, snake_case, as the report prints them. */
  readonly args: Readonly<Record<string, number | string | boolean | null>>;
  readonly params: bigint;
  readonly buffers: bigint;
  readonly forward: FlopSplit;
  readonly backward: FlopSplit;
  /** forward.matrix / 2. */
  readonly macs: number;
  /** Storage of the sparse tables' Adam moments (the train section's `expert_moments`; fp32 without one). */
  readonly expertMoments: ExpertMomentPrecision;
}

export type Precision = "fp32" | "bf16";

export interface MemoryBytes {
  readonly weights: number;
  readonly grads: number;
  readonly optimizer: number;
  readonly buffers: number;
  readonly activations: number;
  readonly total: number;
}

export interface RooflineLayer {
  readonly path: string;
  readonly flops: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly bound: "compute" | "memory";
}

export interface RooflineEstimate {
  readonly target: string;
  readonly precision: Precision;
  readonly peakFlops: number;
  readonly bandwidth: number;
  /** Σ over layers (and the optimizer update) of max(flops/peak, bytes/bandwidth), one training step. */
  readonly stepSeconds: number;
  /** Whole train section (steps × step time); null without a train section. */
  readonly trainSeconds: number | null;
  readonly layers: readonly RooflineLayer[];
  readonly optimizerSeconds: number;
}

export interface TrainCost {
  readonly tokensPerStep: number;
  readonly tokensPerPass: number;
  readonly passesPerStep: number;
  readonly flopsPerStep: number;
  readonly steps: number;
  /** Where the step count came from. */
  readonly stepsFrom: "steps" | "tokens" | "flops";
  readonly tokens: number;
  readonly totalFlops: number;
  readonly peakMemory: Readonly<Record<Precision, MemoryBytes>>;
}

export interface ModelTotals {
  readonly params: bigint;
  readonly buffers: bigint;
  readonly activeParams: bigint;
  readonly forward: FlopSplit;
  readonly backward: FlopSplit;
  readonly macs: number;
  readonly flopsPerToken: { readonly forward: number; readonly backward: number; readonly train: number };
  /** Forward traffic per token at the report's tokens per pass. */
  readonly trafficBytesPerToken: Readonly<Record<Precision, number>>;
  readonly arithmeticIntensity: Readonly<Record<Precision, number>>;
  readonly weightBytes: Readonly<Record<Precision, number>>;
}

export interface ModelCost {
  readonly model: IRModel;
  readonly layers: readonly LayerCost[];
  /** Tokens one forward pass carries (micro-batch × context, or one sequence without a train section). */
  readonly tokensPerPass: number;
  readonly totals: ModelTotals;
  readonly train: TrainCost | null;
  readonly roofline: readonly RooflineEstimate[];
  /** Per-layer traffic per token at tokensPerPass. */
  readonly layerTraffic: ReadonlyMap<string, Readonly<Record<Precision, number>>>;
}

export type KindFormula<L extends IRLayer> = (layer: L, model: IRModel) => KindCost;
