/** Shared set-up for the expert-path tests: backend, IR layers, seeded data. */
import * as tf from "@tensorflow/tfjs";
import type { PeerLayer, PkmLayer } from "../../ir/types.js";
import { registerRuntimeKernels } from "../../runtime/backend/kernels/index.js";
import type { ForwardContext, RoutingRecord } from "../../runtime/layers/layer.js";
import { Rng } from "../../runtime/data/rng.js";

export async function useWasm(): Promise<void> {
  await import("@tensorflow/tfjs-backend-wasm");
  await tf.setBackend("wasm");
  registerRuntimeKernels("wasm");
}

const span = { file: "test.peer", offset: 0, length: 1, line: 1, column: 1, endLine: 1, endColumn: 2 };

export function peerSpec(over: Partial<PeerLayer> & { subKeys: number }): PeerLayer {
  const subKeys = over.subKeys;
  return {
    kind: "peer",
    path: "blocks.0.ffw.peer",
    index: 0,
    span,
    argSpans: {},
    dModel: 8,
    heads: 2,
    topk: 2,
    subTopk: 2,
    keyDim: 6,
    queryNorm: "none",
    keys: "shared",
    queryBias: false,
    act: "gelu",
    glu: false,
    scores: "softmax",
    experts: subKeys * subKeys,
    ...over,
  };
}

export function pkmSpec(over: Partial<PkmLayer> & { subKeys: number }): PkmLayer {
  const subKeys = over.subKeys;
  return {
    kind: "pkm",
    path: "blocks.0.ffw.pkm",
    index: 0,
    span,
    argSpans: {},
    dModel: 8,
    heads: 2,
    topk: 2,
    subTopk: 2,
    keyDim: 6,
    queryNorm: "none",
    keys: "shared",
    queryBias: false,
    scores: "softmax",
    memories: subKeys * subKeys,
    valueDim: 8,
    ...over,
  };
}

export function seededRng(seed: number): () => number {
  const rng = Rng.fromSeed(seed);
  return () => rng.nextU32() / 4294967296;
}

export function randomArray(size: number, rng: () => number, scale = 1): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (2 * rng() - 1) * scale;
  return out;
}

export function context(training: boolean, batch: number, seqLen: number, records?: RoutingRecord[]): ForwardContext {
  return {
    training,
    batch,
    seqLen,
    addAuxLoss: () => undefined,
    recordRouting: records ? (r) => records.push(r) : null,
  };
}
