/**
 * Roofline estimate of one training step: each layer takes
 * max(FLOPs / peak, bytes / bandwidth); the AdamW update is pure traffic.
 */
import type { LayerCost, RooflineEstimate, RooflineLayer } from "./types.js";
import type { Target } from "./targets.js";
import { OPTIMIZER_TRAFFIC_BYTES_PER_PARAM } from "./conventions.js";
import { gradientParams, trafficBytesPerToken } from "./memory.js";

/** Forward bytes + backward (2 × forward: re-read weights and saved activations, write both gradients). */
const STEP_TRAFFIC_FACTOR = 3;

export interface StepShape {
  readonly tokensPerStep: number;
  readonly tokensPerPass: number;
  /** null without a train section: the estimate is for one step of one pass. */
  readonly steps: number | null;
}

export function roofline(layers: readonly LayerCost[], target: Target, shape: StepShape): RooflineEstimate {
  const rows: RooflineLayer[] = [];
  let stepSeconds = 0;
  let updated = 0n;
  for (const layer of layers) {
    const flops = (layer.forward.matrix + layer.forward.elementwise + layer.backward.matrix + layer.backward.elementwise) * shape.tokensPerStep;
    const bytes = STEP_TRAFFIC_FACTOR * trafficBytesPerToken(layer, target.precision, shape.tokensPerPass) * shape.tokensPerStep;
    const compute = flops / target.peakFlops;
    const memory = bytes / target.bandwidth;
    const seconds = Math.max(compute, memory);
    rows.push({ path: layer.path, flops, bytes, seconds, bound: memory > compute ? "memory" : "compute" });
    stepSeconds += seconds;
    updated += gradientParams(layer, shape.tokensPerStep);
  }
  const optimizerSeconds = (OPTIMIZER_TRAFFIC_BYTES_PER_PARAM * Number(updated)) / target.bandwidth;
  stepSeconds += optimizerSeconds;
  return {
    target: target.name,
    precision: target.precision,
    peakFlops: target.peakFlops,
    bandwidth: target.bandwidth,
    stepSeconds,
    trainSeconds: shape.steps === null ? null : stepSeconds * shape.steps,
    layers: rows,
    optimizerSeconds,
  };
}
