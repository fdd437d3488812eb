/** The emitted layer functions: one per distinct specialisation, and how a layer calls its function. */
import type { IRLayer, IRModel } from "../../ir/types.js";
import type { EmitContext } from "./context.js";
import type { LayerEmission } from "./layer-types.js";
import { emitLayer } from "./kind-emitters.js";
import type { NameScope } from "./names.js";
import { nodeAt, type WeightNode, type WeightTypes } from "./weight-tree.js";

/** One emitted layer function and the layers that call it. */
export interface LayerFunction {
  readonly name: string;
  readonly emission: LayerEmission;
  /** Interface names of `w` (own weights) and `e` (a tied layer's), null when absent. */
  readonly weights: string | null;
  readonly tied: string | null;
  readonly layers: IRLayer[];
}

/** Layer index → its function; functions in first-use order. */
export interface LayerFunctions {
  readonly byLayer: readonly LayerFunction[];
  readonly list: readonly LayerFunction[];
}

export function layerFunctions(model: IRModel, ctx: EmitContext, root: WeightNode, types: WeightTypes, functions: NameScope): LayerFunctions {
  const byKey = new Map<string, LayerFunction>();
  const list: LayerFunction[] = [];
  const byLayer = model.layers.map((layer) => {
    const emission = emitLayer(layer, { model, ...(ctx.headLayout ? { headLayout: ctx.headLayout } : {}) });
    const own = nodeAt(root, layer.path);
    const tiedNode = emission.tiedTo === null ? undefined : nodeAt(root, emission.tiedTo);
    if (emission.tiedTo !== null && !tiedNode) throw new Error(`${layer.path}: the tied layer ${emission.tiedTo} has no weights`);
    const weights = own ? types.name(own, `${emission.name} weights`) : null;
    const tied = tiedNode ? types.name(tiedNode, `${emission.tiedTo} weights`) : null;
    const key = JSON.stringify([emission.name, emission.input, emission.usesCtx, emission.usesPath, weights, tied, emission.body]);
    let fn = byKey.get(key);
    if (!fn) {
      fn = { name: functions.claim(emission.name), emission, weights, tied, layers: [] };
      byKey.set(key, fn);
      list.push(fn);
    }
    fn.layers.push(layer);
    return fn;
  });
  return { byLayer, list };
}

/** The call of `fn` for `layer` on input `x`; weights below `root` (`w` or a block's node) at `relPath`. */
export function layerCall(fn: LayerFunction, layer: IRLayer, x: string, weightsAt: (path: string) => string, pathExpr: (path: string) => string): string {
  const e = fn.emission;
  const args = [
    ...(fn.weights ? [weightsAt(layer.path)] : []),
    ...(fn.tied && e.tiedTo !== null ? [weightsAt(e.tiedTo)] : []),
    x,
    ...(e.usesCtx ? ["ctx"] : []),
    ...(e.usesPath ? [pathExpr(layer.path)] : []),
  ];
  return `${fn.name}(${args.join(", ")})`;
}

