/**
 * The static cost model: per-layer and total figures of an IR model, computed
 * from the IR alone (no weights, no tracing). See docs/cost-model.md.
 */
import type { IRModel } from "../../ir/types.js";
import type { LayerCost, ModelCost, Precision } from "./types.js";
import { layerCost } from "./layer.js";
import { modelTotals, tokensPerPassOf, tokensPerStepOf, trainCost } from "./totals.js";
import { trafficBytesPerToken } from "./memory.js";
import { roofline } from "./roofline.js";
import { targetsFor } from "./targets.js";

export type * from "./types.js";
export { CONVENTIONS } from "./conventions.js";
export { CostModelError, layerCost } from "./layer.js";
export { layerTrainMemory, sparseTableTrainBytes, trafficBytesPerToken, activationBytesPerToken, gradientParams, denseMemoryFigures, type DenseMemoryFigures } from "./memory.js";
export { H100, A100, TARGET_NAMES, targetsFor, type Target } from "./targets.js";

export interface CostOptions {
  /** Peak FLOP/s of the cpu target; without it the cpu is not estimated. */
  readonly cpuPeakFlops?: number;
  /** Memory bandwidth of the cpu target in bytes/s; without it the cpu estimate is compute-only. */
  readonly cpuBandwidth?: number;
}

export function costModel(model: IRModel, options: CostOptions = {}): ModelCost {
  // Each residual adds x + f(x) after its last layer.
  const closing = new Map<number, number>();
  for (const r of model.residuals) {
    if (r.end > r.start) closing.set(r.end - 1, (closing.get(r.end - 1) ?? 0) + 1);
  }
  const layers: LayerCost[] = model.layers.map((l, i) => layerCost(l, model, closing.get(i) ?? 0));
  const tokensPerPass = tokensPerPassOf(model);
  const totals = modelTotals(layers, tokensPerPass);
  const train = model.train ? trainCost(model.train, layers, totals) : null;
  const shape = {
    tokensPerStep: train ? train.tokensPerStep : tokensPerStepOf(model),
    tokensPerPass,
    steps: train ? train.steps : null,
  };
  const layerTraffic = new Map<string, Record<Precision, number>>();
  for (const l of layers) {
    layerTraffic.set(l.path, {
      fp32: trafficBytesPerToken(l, "fp32", tokensPerPass),
      bf16: trafficBytesPerToken(l, "bf16", tokensPerPass),
    });
  }
  return {
    model,
    layers,
    tokensPerPass,
    totals,
    train,
    roofline: targetsFor(options).map((t) => roofline(layers, t, shape)),
    layerTraffic,
  };
}
