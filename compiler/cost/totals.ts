/** Model totals and the train section's figures, from the per-layer costs. */
import type { IRModel, IRTrain } from "../../ir/types.js";
import type { LayerCost, MemoryBytes, ModelTotals, Precision, TrainCost } from "./types.js";
import { ELEMENT_BYTES } from "./conventions.js";
import { addMemory, layerTrainMemory, NO_MEMORY, trafficBytesPerToken } from "./memory.js";

const PRECISIONS: readonly Precision[] = ["fp32", "bf16"];

export function modelTotals(layers: readonly LayerCost[], tokensPerPass: number): ModelTotals {
  let params = 0n;
  let buffers = 0n;
  let active = 0n;
  let fm = 0;
  let fe = 0;
  let bm = 0;
  let be = 0;
  for (const l of layers) {
    params += l.params;
    buffers += l.buffers;
    active += l.activeParams;
    fm += l.forward.matrix;
    fe += l.forward.elementwise;
    bm += l.backward.matrix;
    be += l.backward.elementwise;
  }
  const forward = fm + fe;
  const backward = bm + be;
  const traffic = {} as Record<Precision, number>;
  const intensity = {} as Record<Precision, number>;
  const weightBytes = {} as Record<Precision, number>;
  for (const p of PRECISIONS) {
    traffic[p] = layers.reduce((s, l) => s + trafficBytesPerToken(l, p, tokensPerPass), 0);
    intensity[p] = traffic[p] > 0 ? forward / traffic[p] : 0;
    weightBytes[p] = ELEMENT_BYTES[p] * Number(params);
  }
  return {
    params,
    buffers,
    activeParams: active,
    forward: { matrix: fm, elementwise: fe },
    backward: { matrix: bm, elementwise: be },
    macs: fm / 2,
    flopsPerToken: { forward, backward, train: forward + backward },
    trafficBytesPerToken: traffic,
    arithmeticIntensity: intensity,
    weightBytes,
  };
}

/** Tokens in one forward pass: the micro-batch of the train section, else one sequence. */
export function tokensPerPassOf(model: IRModel): number {
  return model.train ? model.train.microBatch * model.train.context : model.context;
}

export function tokensPerStepOf(model: IRModel): number {
  return model.train ? model.train.batch * model.train.context : model.context;
}

export function peakMemory(layers: readonly LayerCost[], precision: Precision, tokensPerStep: number, tokensPerPass: number): MemoryBytes {
  let total = NO_MEMORY;
  for (const l of layers) total = addMemory(total, layerTrainMemory(l, precision, tokensPerStep, tokensPerPass));
  return total;
}

export function trainCost(train: IRTrain, layers: readonly LayerCost[], totals: ModelTotals): TrainCost {
  const tokensPerStep = train.batch * train.context;
  const tokensPerPass = train.microBatch * train.context;
  const flopsPerStep = totals.flopsPerToken.train * tokensPerStep;
  let steps: number;
  const h = train.horizon;
  switch (h.kind) {
    case "steps":
      steps = h.steps;
      break;
    case "tokens":
      steps = Math.ceil(h.tokens / tokensPerStep); // at least the tokens asked for
      break;
    case "flops":
      steps = flopsPerStep > 0 ? Math.floor(h.flops / flopsPerStep) : 0; // never over the budget
      break;
  }
  return {
    tokensPerStep,
    tokensPerPass,
    passesPerStep: train.batch / train.microBatch,
    flopsPerStep,
    steps,
    stepsFrom: h.kind,
    tokens: steps * tokensPerStep,
    totalFlops: steps * flopsPerStep,
    peakMemory: {
      fp32: peakMemory(layers, "fp32", tokensPerStep, tokensPerPass),
      bf16: peakMemory(layers, "bf16", tokensPerStep, tokensPerPass),
    },
  };
}
