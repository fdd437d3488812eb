/**
 * The compiler side of a layer kind, in one record: how a statement becomes an
 * IR layer (`check`), what it costs (`cost`) and which tensors it owns
 * (`weights`, the manifest shared with the runtime). `emit` (the TypeScript
 * emitter) and `torch` (the PyTorch target) are filled by their owners.
 *
 * The runtime has its own record (`KindRuntime`, runtime/layers/layer.ts) and
 * its own registry (kinds/runtime.ts): runtime code may not import compiler
 * code (test/architecture/imports.test.ts), so one registry holding both could
 * not be imported by the trainer. Both registries list every `LayerKind`; the
 * types make a missing line a compile error.
 */
import type { IRLayer, IRModel, LayerKind } from "../ir/types.js";
import type { LayerDef } from "../compiler/check/layers/layer.js";
import type { KindCost, LayerCost } from "../compiler/cost/types.js";
import type { WeightManifest } from "./manifest.js";
import type { LayerEmitter } from "../compiler/emit/layer-types.js";
import type { TorchEmitter } from "../targets/torch/kind-types.js";

/** The IR layer of kind K. */
export type LayerOf<K extends LayerKind> = Extract<IRLayer, { kind: K }>;

export interface KindModule<K extends LayerKind = LayerKind> {
  readonly kind: K;
  /** Argument schema and IR construction (compiler/check/layers/layer.ts). */
  readonly check: LayerDef<K>;
  /** The kind's formula; `layerCost` adds the bookkeeping every kind shares. */
  cost(layer: LayerOf<K>, model: IRModel): KindCost;
  /** Every tensor the layer owns (kinds/manifest.ts). */
  weights(layer: LayerOf<K>): WeightManifest;
  /** The few resolved arguments that identify a layer at a glance (report rows): "N 64², h 8, k 16, dk 256". */
  summary(args: LayerCost["args"]): string;
  /**
   * A budget's help when this kind is the largest contributor (`where` is
   * " in `path`"): `size` for parameter and memory budgets, `compute` for the
   * others; absent: the generic help.
   */
  readonly budgetHelp?: {
    readonly size?: (where: string) => string;
    readonly compute?: (where: string) => string;
  };
  /** The TypeScript emitter: the body of the layer's specialised forward (compiler/emit/layer-types.ts). */
  readonly emit: LayerEmitter<LayerOf<K>>;
  /** The PyTorch target's emitter (kinds/<kind>/torch.ts; targets/torch/kind-types.ts). */
  readonly torch?: TorchEmitter<LayerOf<K>>;
}

/** A record with the kind's own layer type, checked where it is written. */
export function defineKind<K extends LayerKind>(module: KindModule<K>): KindModule<K> {
  return module;
}
