/**
 * The contract of a kind's PyTorch emitter (kinds/<kind>/torch.ts, the
 * `torch` field of its record in kinds/index.ts): the weights of one module
 * (names and shapes of docs/weights.md, init, decay flag) and the body of its
 * forward with every size a literal. Layers with the same signature share one
 * class (targets/torch/model-file.ts).
 */
import type { IRLayer, LayerArchitecture } from "../../ir/types.js";
import { pyFloat, pyNumber } from "./python.js";

export { pyFloat, pyNumber, pyString } from "./python.js";

export type TorchInit = { readonly kind: "normal"; readonly std: number } | { readonly kind: "uniform"; readonly bound: number } | { readonly kind: "zeros" } | { readonly kind: "ones" };

export interface TorchPart {
  /** Name after "<layer path>.": "wq", "query.bn.gamma", "experts.3.w_in". */
  readonly part: string;
  readonly shape: readonly number[];
  readonly init: TorchInit;
  readonly noDecay: boolean;
}

export interface TorchTable {
  readonly part: string;
  readonly rows: number;
  readonly cols: number;
  readonly std: number;
}

export interface TorchLayer {
  /** Dense trainable parameters. */
  readonly parts: readonly TorchPart[];
  /** Non-trainable state saved in checkpoints (BatchNorm running statistics). */
  readonly buffers: readonly TorchPart[];
  /** Row-sparse expert tables. */
  readonly tables: readonly TorchTable[];
  /** Lines of `forward(self, x, ctx)` (indented 8 spaces by the caller); `x` in, returns the output. */
  readonly body: readonly string[];
  /** True when forward takes the embedding matrix (tied lm_head). */
  readonly needsEmbedding?: boolean;
}

/** Model-wide facts a layer's init needs. */
export interface TorchLayerContext {
  /** 0.02 / √(2·blocks): std of projections into the residual stream. */
  readonly outputStd: number;
}

/** A kind's emitter: the module of one (span-free) layer. */
export type TorchEmitter<L extends IRLayer = IRLayer> = (layer: L, ctx: TorchLayerContext) => TorchLayer;

export const INIT_STD = 0.02;
export const normal = (std = INIT_STD): TorchInit => ({ kind: "normal", std });
export const zeros: TorchInit = { kind: "zeros" };
export const ones: TorchInit = { kind: "ones" };

/** The Python attribute of a part: dots become underscores ("query.bn.gamma" → query_bn_gamma). */
export function partAttribute(part: string): string {
  return part.replace(/\./g, "_");
}

/** The Python expression of a part inside the module: `self.query_bn_gamma`. */
export const p = (part: string): string => `self.${partAttribute(part)}`;

/** A layer kind's emitter applied to a layer without source locations (emitters read no span). */
export function asLayer<L extends IRLayer>(layer: LayerArchitecture): L {
  return layer as unknown as L;
}


/** Python expression creating a zero tensor of `shape`. */
export function zerosExpr(part: TorchPart): string {
  return `torch.zeros(${part.shape.map(pyNumber).join(", ")}${part.shape.length === 1 ? "," : ""})`;
}

/** The init record of a part as a Python tuple. */
export function initExpr(init: TorchInit): string {
  switch (init.kind) {
    case "normal":
      return `("normal", ${pyFloat(init.std)})`;
    case "uniform":
      return `("uniform", ${pyFloat(init.bound)})`;
    case "zeros":
      return `("zeros", 0.0)`;
    case "ones":
      return `("ones", 0.0)`;
  }
}
