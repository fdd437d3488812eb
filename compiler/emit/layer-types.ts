/**
 * What one layer kind's emitter (kinds/<kind>/emit.ts) produces: the body of
 * the layer's specialised forward function. The weights come from the kind's
 * manifest (kinds/<kind>/weights.ts): the function receives the layer's node
 * of the nested weights object as `w` and reads `w.wq`, `w.query.bn`, … .
 * Layers whose emissions are equal share one function.
 */
import type { IRLayer, IRModel } from "../../ir/types.js";
import type { EmittedFlops } from "./cost-comment.js";

export interface LayerEmission {
  /** Base name of the function ("rmsNorm"); a second specialisation of it gets "_2". */
  readonly name: string;
  /** One line of configuration for the comment above the function. */
  readonly summary: string;
  /** The input: int32 `ids` [batch·seqLen] (embed) or activations `x` [batch·seqLen, width]. */
  readonly input: "ids" | "x";
  /** Reads the forward context `ctx` (batch, seqLen, training, aux losses, routing records). */
  readonly usesCtx: boolean;
  /** Takes the layer's path as `path` (routing records name the layer). */
  readonly usesPath: boolean;
  /**
   * Another layer whose weights the function reads as `e` (a tied LM head: the
   * embedding's), or null. The layer's own weights are `w` (absent when its
   * manifest is empty).
   */
  readonly tiedTo: string | null;
  /** Statements of the function, one per line, without indentation. */
  readonly body: readonly string[];
  /** Where the code's FLOPs differ from the cost model's terms (the cost comment counts what the code runs). */
  readonly flops?: EmittedFlops;
}

export interface LayerEmitEnv {
  readonly model: IRModel;
  /** Product-key score layout per key sharing; unset = the measured default (head-layout.ts). */
  readonly headLayout?: HeadLayouts;
}

export type LayerEmitter<L extends IRLayer = IRLayer> = (layer: L, env: LayerEmitEnv) => LayerEmission;

/** How the per-head sub-key score matmuls are laid out. */
export type HeadLayout = "batched" | "unrolled";
/** The layout for each key sharing. */
export interface HeadLayouts {
  readonly shared: HeadLayout;
  readonly per_head: HeadLayout;
}

/**
 * The layout emitted by default, per key sharing: batched for both. On wasm,
 * one matmul per head trained 15% slower with shared keys and 5% slower with
 * per-head keys (bench/emitted-vs-generic.ts --heads, figures in docs/compile.md).
 */
export const DEFAULT_HEAD_LAYOUT: HeadLayouts = { shared: "batched", per_head: "batched" };
