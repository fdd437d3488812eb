/**
 * What one layer kind's emitter produces: the weights it reads (by their
 * runtime names, so the runtime's factories own creation and initialisation)
 * and one function that is the layer's specialised forward.
 */
import type { IRLayer, IRModel } from "../../../ir/types.js";
import type { NameScope } from "../names.js";

export interface WeightRef {
  /** Field of the emitted `Weights` interface. */
  readonly field: string;
  /** The runtime's variable name, "<layer path>.<part>". */
  readonly name: string;
  readonly shape: readonly number[];
}

export interface TableRef {
  readonly field: string;
  /** The runtime's sparse table name. */
  readonly name: string;
  readonly rows: number;
  readonly cols: number;
}

/**
 * `count` structurally equal sets of weights named "<prefix><i>.<part>"
 * (MoE experts): one `Weights` field holding an array of { part: Variable }.
 */
export interface WeightGroup {
  readonly field: string;
  /** Name of the emitted interface of one member. */
  readonly typeName: string;
  /** Variable name prefix before the member index, e.g. "blocks.1.moe.experts.". */
  readonly prefix: string;
  readonly count: number;
  /** Member fields: property → (part after "<prefix><i>.", shape). */
  readonly parts: readonly { readonly property: string; readonly part: string; readonly shape: readonly number[] }[];
}

export interface LayerEmission {
  readonly weights: readonly WeightRef[];
  readonly groups?: readonly WeightGroup[];
  readonly tables: readonly TableRef[];
  /** Buffers (batch-norm running statistics) by runtime name; bound into `Weights` like variables. */
  readonly buffers: readonly WeightRef[];
  /** The function's name. */
  readonly fn: string;
  /** Full function declaration (without the cost comment). */
  readonly code: string;
  /**
   * Call of the function on input expression `x` (embed: int32 ids). Weights
   * are in scope as `w`, the forward context as `ctx`.
   */
  call(x: string): string;
}

export interface LayerEmitEnv {
  readonly model: IRModel;
  /** Claims identifiers for functions and weight fields (unique over the whole file). */
  readonly functions: NameScope;
  readonly fields: NameScope;
  /** The layer this one ties to (lm_head tied: the embedding's weight field). */
  weightField(name: string): string | undefined;
  /** Product-key score layout per key sharing; unset = the measured default (product-key.ts). */
  readonly headLayout?: HeadLayouts;
}

export type LayerEmitter<L extends IRLayer> = (layer: L, env: LayerEmitEnv) => LayerEmission;

/** How the per-head sub-key score matmuls are laid out. */
export type HeadLayout = "batched" | "unrolled";
/** The layout for each key sharing. */
export interface HeadLayouts {
  readonly shared: HeadLayout;
  readonly per_head: HeadLayout;
}
