/** Hand-built IR for cost tests: defaults fill what a test does not care about. */
import type {
  AttentionLayer, EmbedLayer, FfwLayer, IRBudget, IRLayer, IRModel, IRResidual, IRTrain, LmHeadLayer,
  MoeLayer, NormLayer, PeerLayer, PkmLayer, PositionsLayer,
} from "../../ir/types.js";
import type { Span } from "../../diagnostics/source.js";

export function span(line = 1, column = 1, length = 1, file = "test.peer"): Span {
  return { file, offset: (line - 1) * 100 + column - 1, length, line, column, endLine: line, endColumn: column + length };
}

type Base = "path" | "index" | "span" | "argSpans";
type Init<L> = Omit<L, Base | "kind"> & { path?: string; span?: Span };

function base(path: string | undefined, fallback: string, s?: Span) {
  return { path: path ?? fallback, index: -1, span: s ?? span(), argSpans: {} };
}

export const embed = (a: Init<EmbedLayer>): EmbedLayer => ({ kind: "embed", ...a, ...base(a.path, "embed", a.span) });
export const positions = (a: Init<PositionsLayer>): PositionsLayer => ({ kind: "positions", ...a, ...base(a.path, "positions", a.span) });
export const norm = (a: Partial<Init<NormLayer>> & { dim: number }): NormLayer => ({
  kind: "norm", type: "rms", eps: 1e-6, ...a, ...base(a.path, "norm", a.span),
});
export const attention = (a: Partial<Init<AttentionLayer>> & { dModel: number; heads: number; headDim: number; context: number }): AttentionLayer => ({
  kind: "attention", kvHeads: a.heads, causal: true, bias: false, rope: null, ...a, ...base(a.path, "attention", a.span),
});
export const ffw = (a: Partial<Init<FfwLayer>> & { dModel: number; hidden: number }): FfwLayer => ({
  kind: "ffw", act: "gelu", glu: false, bias: false, ...a, ...base(a.path, "ffw", a.span),
});
export const moe = (a: Partial<Init<MoeLayer>> & { dModel: number; experts: number; hidden: number }): MoeLayer => ({
  kind: "moe", topk: 2, act: "gelu", glu: false, bias: false, routing: "token", capacity: 1.25, auxLoss: 0.01,
  ...a, ...base(a.path, "moe", a.span),
});
export const peer = (a: Partial<Init<PeerLayer>> & { dModel: number; experts: number; heads: number; topk: number; keyDim: number }): PeerLayer => ({
  kind: "peer", subKeys: Math.round(Math.sqrt(a.experts)), subTopk: a.topk, queryNorm: "batch", keys: "shared", queryBias: true,
  act: "gelu", glu: false, scores: "softmax", ...a, ...base(a.path, "peer", a.span),
});
export const pkm = (a: Partial<Init<PkmLayer>> & { dModel: number; memories: number; heads: number; topk: number; keyDim: number }): PkmLayer => ({
  kind: "pkm", subKeys: Math.round(Math.sqrt(a.memories)), subTopk: a.topk, queryNorm: "batch", keys: "shared", queryBias: true,
  valueDim: a.dModel, scores: "softmax", ...a, ...base(a.path, "pkm", a.span),
});
export const lmHead = (a: Partial<Init<LmHeadLayer>> & { dModel: number; vocab: number }): LmHeadLayer => ({
  kind: "lm_head", tied: true, bias: false, ...a, ...base(a.path, "lm_head", a.span),
});

export function train(a: Partial<IRTrain> = {}): IRTrain {
  return {
    span: span(30),
    batch: 8,
    microBatch: a.batch ?? 8,
    context: 128,
    horizon: { kind: "steps", steps: 100 },
    optimizer: { kind: "adamw", lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clip: 1, expertLr: null, decayAll: false },
    schedule: { kind: "cosine", warmup: { fraction: 0.01 }, minLr: 0.1 },
    data: { tokenizer: "bytes", path: null, valFraction: 0.01, bpeVocab: null },
    seed: 0,
    evalEvery: 100,
    checkpointEvery: 100,
    logEvery: 10,
    ...a,
  };
}

export function budget(a: Partial<IRBudget> & Pick<IRBudget, "metric" | "limit">, line = 40): IRBudget {
  return {
    span: span(line, 3, 20),
    metricSpan: span(line, 3, 6),
    limitSpan: span(line, 13, 5),
    op: "<=",
    unit: null,
    target: null,
    precision: "fp32",
    ...a,
  };
}

export interface ModelInit {
  name?: string;
  vocab?: number;
  context?: number;
  dModel: number;
  layers: IRLayer[];
  residuals?: IRResidual[];
  train?: IRTrain | null;
  budgets?: IRBudget[];
  sweep?: IRModel["sweep"];
}

/** Fixes indices so `layers[i].index === i`. */
export function model(m: ModelInit): IRModel {
  return {
    name: m.name ?? "m",
    baseName: (m.name ?? "m").replace(/\[.*$/, ""),
    sweep: m.sweep ?? null,
    file: "test.peer",
    span: span(1),
    vocab: m.vocab ?? 256,
    context: m.context ?? 128,
    dModel: m.dModel,
    layers: m.layers.map((l, index) => ({ ...l, index })),
    residuals: m.residuals ?? [],
    train: m.train ?? null,
    budgets: m.budgets ?? [],
    hash: "0".repeat(64),
  };
}

/** The paper's PEER layer: d 1024, N 1024², h 8, k 16, d_key 256, shared keys, query bias, BN. */
export const paperPeer = (path = "blocks.5.ffw.peer") =>
  peer({ path, dModel: 1024, experts: 1024 ** 2, heads: 8, topk: 16, keyDim: 256 });

/** A small LM: embed, `blocks` × (norm, attention | norm, ffn), norm, tied head. */
export function smallLm(opts: { d?: number; blocks?: number; ffn?: (i: number, d: number) => IRLayer; train?: IRTrain | null; budgets?: IRBudget[]; name?: string; sweep?: IRModel["sweep"] } = {}): IRModel {
  const d = opts.d ?? 64;
  const layers: IRLayer[] = [embed({ vocab: 256, dim: d, path: "embed" })];
  const residuals: IRResidual[] = [];
  for (let i = 0; i < (opts.blocks ?? 2); i++) {
    const s1 = layers.length;
    layers.push(norm({ dim: d, path: `blocks.${i}.mix.norm` }));
    layers.push(attention({ dModel: d, heads: 4, headDim: d / 4, context: 128, path: `blocks.${i}.mix.attention` }));
    residuals.push({ path: `blocks.${i}.mix`, start: s1, end: layers.length, span: span() });
    const s2 = layers.length;
    layers.push(norm({ dim: d, path: `blocks.${i}.ffw.norm` }));
    const f = opts.ffn ? opts.ffn(i, d) : ffw({ dModel: d, hidden: 4 * d });
    layers.push({ ...f, path: `blocks.${i}.ffw.${f.kind}` });
    residuals.push({ path: `blocks.${i}.ffw`, start: s2, end: layers.length, span: span() });
  }
  layers.push(norm({ dim: d, path: "norm" }));
  layers.push(lmHead({ dModel: d, vocab: 256, path: "lm_head" }));
  return model({ name: opts.name, dModel: d, layers, residuals, train: opts.train ?? null, budgets: opts.budgets, sweep: opts.sweep });
}
