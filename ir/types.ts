/**
 * The IR: a fully resolved model. Constants are folded, blocks, repeats and
 * conditions are expanded, sweeps are split into one model per variant, and
 * every dimension is an exact integer. Cost, report, budgets and emit read the
 * IR only, never the AST. Every layer links back to the statement it came from.
 *
 * Dimensions are JS numbers (the checker guarantees each is a safe integer and
 * at most 2^31); products that can pass 2^53 (params, FLOPs) are computed by the
 * cost model in BigInt.
 */
import type { Span } from "../diagnostics/source.js";

export type Activation = "relu" | "gelu" | "gelu_tanh" | "silu" | "sigmoid" | "tanh" | "identity";
export type NormType = "rms" | "layer";
export type QueryNorm = "batch" | "layer" | "none";
export type ScoreFn = "softmax" | "sigmoid";
/** Product sub-keys shared by all heads (the paper) or one set per head (lucidrains, XLM). */
export type KeySharing = "shared" | "per_head";
export type Routing = "token" | "expert";
export type PositionType = "learned" | "rope";

interface LayerBase {
  /** Dot path, unique in the model, [a-z0-9_.] only: e.g. "blocks.6.ffw.peer". */
  readonly path: string;
  /** Position in `IRModel.layers`. */
  readonly index: number;
  /** The statement that produced this layer. */
  readonly span: Span;
  /** Spans of the arguments as written (keys are argument names), for diagnostics that point at a property. */
  readonly argSpans: Readonly<Record<string, Span>>;
}

/** Token embedding table [vocab, dim]. */
export interface EmbedLayer extends LayerBase {
  readonly kind: "embed";
  readonly vocab: number;
  readonly dim: number;
}

/** Learned absolute positions [context, dim] added to the embeddings. (RoPE lives inside attention.) */
export interface PositionsLayer extends LayerBase {
  readonly kind: "positions";
  readonly type: "learned";
  readonly context: number;
  readonly dim: number;
}

export interface AttentionLayer extends LayerBase {
  readonly kind: "attention";
  readonly dModel: number;
  readonly heads: number;
  readonly headDim: number;
  /** Grouped-query attention: kvHeads divides heads; kvHeads == heads is plain MHA. */
  readonly kvHeads: number;
  readonly causal: boolean;
  readonly bias: boolean;
  readonly context: number;
  /** Rotary embedding on q and k (set when the model says `positions rope`). */
  readonly rope: { readonly base: number } | null;
}

export interface NormLayer extends LayerBase {
  readonly kind: "norm";
  readonly type: NormType;
  readonly dim: number;
  readonly eps: number;
}

export interface FfwLayer extends LayerBase {
  readonly kind: "ffw";
  readonly dModel: number;
  readonly hidden: number;
  readonly act: Activation;
  readonly glu: boolean;
  readonly bias: boolean;
}

export interface MoeLayer extends LayerBase {
  readonly kind: "moe";
  readonly dModel: number;
  readonly experts: number;
  /** token routing: experts per token; expert routing: unused (capacity decides). */
  readonly topk: number;
  readonly hidden: number;
  readonly act: Activation;
  readonly glu: boolean;
  readonly bias: boolean;
  readonly routing: Routing;
  /**
   * Capacity factor c. Token choice: each expert takes at most c·topk·T/E tokens.
   * Expert choice: each expert takes exactly c·T/E tokens, so c experts per token on average.
   */
  readonly capacity: number;
  /** Weight of the load-balancing loss (token choice); 0 disables it. */
  readonly auxLoss: number;
}

interface ProductKeyBase extends LayerBase {
  readonly dModel: number;
  readonly heads: number;
  /** Final top-k per head. */
  readonly topk: number;
  /** Top-k taken in each half before combining (k' ≥ topk guarantees the exact top-k). */
  readonly subTopk: number;
  /** Full query/key dimension per head; each half is keyDim / 2. */
  readonly keyDim: number;
  readonly queryNorm: QueryNorm;
  /**
   * Weight of the newest batch in the query BatchNorm's running statistics, as
   * written (`bn_momentum`); absent means the runtime default, so specs that do
   * not write it keep their hash. Only with queryNorm "batch".
   */
  readonly bnMomentum?: number;
  readonly keys: KeySharing;
  readonly queryBias: boolean;
}

/** Product-key memory (Lample et al. 2019): values[memories, valueDim]. */
export interface PkmLayer extends ProductKeyBase {
  readonly kind: "pkm";
  readonly memories: number;
  /** √memories sub-keys per half. */
  readonly subKeys: number;
  readonly valueDim: number;
  readonly scores: ScoreFn;
}

/**
 * PEER (He 2024): N single-neuron experts e_i(x) = σ(u_iᵀx)·v_i retrieved by
 * product keys; with `glu`, GLU experts e_i(x) = σ(g_iᵀx)·(u_iᵀx)·v_i (§2).
 */
export interface PeerLayer extends ProductKeyBase {
  readonly kind: "peer";
  readonly experts: number;
  /** √experts sub-keys per half. */
  readonly subKeys: number;
  /** σ of the experts (of the gate row g_i with `glu`). */
  readonly act: Activation;
  /** GLU experts: a third row table g (gate); σ(g_iᵀx) multiplies u_iᵀx. */
  readonly glu: boolean;
  readonly scores: ScoreFn;
}

export interface LmHeadLayer extends LayerBase {
  readonly kind: "lm_head";
  readonly dModel: number;
  readonly vocab: number;
  /** Shares the embedding table (counted once). */
  readonly tied: boolean;
  readonly bias: boolean;
}

export type IRLayer =
  | EmbedLayer
  | PositionsLayer
  | AttentionLayer
  | NormLayer
  | FfwLayer
  | MoeLayer
  | PkmLayer
  | PeerLayer
  | LmHeadLayer;

export type LayerKind = IRLayer["kind"];
export const LAYER_KINDS: readonly LayerKind[] = [
  "embed", "positions", "attention", "norm", "ffw", "moe", "pkm", "peer", "lm_head",
];

/**
 * A residual connection around layers [start, end) of `IRModel.layers`:
 * x ← x + f(x) where f applies those layers in order. Ranges nest properly.
 */
export interface IRResidual {
  readonly path: string;
  readonly start: number;
  readonly end: number;
  readonly span: Span;
}

export type Horizon =
  | { readonly kind: "steps"; readonly steps: number }
  | { readonly kind: "tokens"; readonly tokens: number }
  | { readonly kind: "flops"; readonly flops: number };

export interface IROptimizer {
  readonly kind: "adamw";
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Global-norm clip; null = off. */
  readonly clip: number | null;
  /** Learning rate of PEER/PKM expert and value tables (PKM practice: higher, constant); null = same as lr. */
  readonly expertLr: number | null;
  /** Decay norms, biases and embeddings too (off by default). */
  readonly decayAll: boolean;
  /**
   * Storage of the Adam moments of PEER/PKM expert tables: "bf16" halves them
   * (stochastic rounding). Absent = "fp32": the checker leaves it out then, so
   * the spec hash of a spec that does not ask for bf16 is unchanged.
   */
  readonly expertMoments?: ExpertMomentPrecision;
}

/** Storage precision of expert tables' Adam moments (`optimizer adamw(expert_moments: …)`). */
export type ExpertMomentPrecision = "fp32" | "bf16";

export interface IRSchedule {
  readonly kind: "cosine" | "linear" | "constant";
  readonly warmup: { readonly steps: number } | { readonly fraction: number };
  /** Final learning rate as a fraction of the peak. */
  readonly minLr: number;
}

export interface IRData {
  readonly tokenizer: "bytes" | "bpe";
  /** Relative to the spec file's folder; null = the built-in corpus. */
  readonly path: string | null;
  readonly valFraction: number;
  /** Vocabulary size for a trained BPE tokenizer. */
  readonly bpeVocab: number | null;
}

export interface IRTrain {
  readonly span: Span;
  /** Sequences per optimizer step. */
  readonly batch: number;
  /** Sequences per forward/backward pass; batch / microBatch passes are accumulated. */
  readonly microBatch: number;
  readonly context: number;
  readonly horizon: Horizon;
  readonly optimizer: IROptimizer;
  readonly schedule: IRSchedule;
  readonly data: IRData;
  readonly seed: number;
  readonly evalEvery: number;
  readonly checkpointEvery: number;
  readonly logEvery: number;
  /**
   * `bn_recalibrate N`: before each evaluation (and so before export), recompute
   * the query BatchNorm running statistics as the exact mean over N training
   * batches of a separate stream. Absent (or 0): off; absent keeps the hash.
   */
  readonly bnRecalibrate?: number;
}

export type BudgetMetric =
  | "params"
  | "active_params"
  | "flops_per_token"
  | "train_flops_per_token"
  | "train_flops"
  | "memory_train"
  | "memory_weights"
  | "bytes_per_token"
  | "step_time";

export type BudgetOp = "<=" | "<" | ">=" | ">" | "==";

export interface IRBudget {
  readonly span: Span;
  readonly metricSpan: Span;
  readonly limitSpan: Span;
  readonly metric: BudgetMetric;
  readonly op: BudgetOp;
  /** In base units: parameters, FLOPs, bytes or seconds. */
  readonly limit: number;
  /** As written, for messages ("GiB"); null when none was written. */
  readonly unit: string | null;
  readonly target: "h100" | "a100" | "cpu" | null;
  readonly precision: "fp32" | "bf16";
}

export interface IRModel {
  /** Model name; a sweep variant is "name[experts=16384]" style (see `sweep`). */
  readonly name: string;
  /** The declared model name, shared by all its variants. */
  readonly baseName: string;
  /** The values that picked this variant, in declaration order; null when the model has no value list. */
  readonly sweep: readonly { readonly name: string; readonly value: number | string; readonly span: Span }[] | null;
  readonly file: string;
  readonly span: Span;
  readonly vocab: number;
  readonly context: number;
  readonly dModel: number;
  readonly layers: readonly IRLayer[];
  readonly residuals: readonly IRResidual[];
  readonly train: IRTrain | null;
  readonly budgets: readonly IRBudget[];
  /** sha256 of the canonical JSON of everything above except spans: the "spec hash". */
  readonly hash: string;
}

export interface IRProgram {
  /** Entry files, as given. */
  readonly files: readonly string[];
  readonly models: readonly IRModel[];
}

/** Keys that locate source text, for diagnostics only. */
type SourceKey = "span" | "argSpans" | "metricSpan" | "limitSpan" | "file";

/** `T` without its source locations, recursively. */
export type WithoutSpans<T> = T extends readonly (infer E)[]
  ? readonly WithoutSpans<E>[]
  : T extends object
    ? { readonly [K in keyof T as K extends SourceKey ? never : K]: WithoutSpans<T[K]> }
    : T;

/**
 * The resolved model without source locations: what the runtime builds weights
 * from, the `ARCHITECTURE` literal of emitted code and `--export`'s
 * architecture.json. Every IRModel is one. The budgets, the declared name and
 * the sweep values are the report's (report.json), not the runtime's.
 */
export type ModelArchitecture = Omit<WithoutSpans<IRModel>, "budgets" | "baseName" | "sweep">;
/** One layer of a ModelArchitecture. */
export type LayerArchitecture = WithoutSpans<IRLayer>;
