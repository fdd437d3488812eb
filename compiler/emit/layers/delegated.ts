/**
 * Layers whose forward stays the runtime's own (PEER and PKM: product-key
 * top-k in JS and fused expert kernels over sparse tables, none of which
 * peerc/runtime exports yet): the emitted function calls the
 * runtime layer object that holds the weights. The call is still one named
 * function per layer, with the layer's literal configuration in its comment.
 */
import type { IRLayer } from "../../ir/types.js";
import type { LayerEmission, LayerEmitEnv } from "./types.js";

export function emitDelegated(layer: IRLayer, env: LayerEmitEnv, layerField: string): LayerEmission {
  const fn = env.functions.claim(layer.path);
  const code = `function ${fn}(layers: RuntimeLayers, x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
  // the runtime's ${layer.kind} forward: product-key routing on the host, expert tables in the runtime layer
  return layers.${layerField}.apply(x, ctx) as tf.Tensor2D;
}`;
  return { weights: [], tables: [], buffers: [], fn, code, call: (x) => `${fn}(layers, ${x}, ctx)` };
}
