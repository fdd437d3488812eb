/**
 * Dense layers on the cpu backend: gradients against central finite
 * differences, attention causality, GQA ≡ MHA with repeated kv weights, MoE
 * balancing loss and expert-choice capacity, and the model builder.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import type { IRLayer } from "../../ir/types.js";
import { selectBackend } from "../../runtime/backend/select.js";
import type { RoutingRecord, RuntimeLayer } from "../../runtime/layers/layer.js";
import { createMoeLayer, loadBalancingLoss, routeTokenChoice } from "../../kinds/moe/runtime.js";
import { createLayer } from "../../runtime/model/factories.js";
import { createBuildContext, normalArray } from "../../runtime/model/init.js";
import { buildModel } from "../../runtime/model/model.js";
import { attentionIR, denseModel, ffwIR, forwardContext, moeIR, SPAN } from "./core-helpers.js";

beforeAll(async () => {
  await selectBackend("cpu");
});

function build(layer: IRLayer, seed = 1): RuntimeLayer {
  return createLayer(layer, createBuildContext({ seed, backend: "cpu", blocks: 2 }), null);
}

/** Deterministic input [rows, width] with entries of order 1. */
function input(rows: number, width: number, seed: number): tf.Tensor2D {
  return tf.tensor2d(normalArray(seed, "input", rows * width, 1), [rows, width]);
}

/**
 * Compares analytic gradients of L = Σ layer(x)·R with central differences for a
 * few coordinates of every variable and of x.
 */
function checkGradients(layer: RuntimeLayer, x: tf.Tensor2D, batch: number, seqLen: number): void {
  const { ctx } = forwardContext(batch, seqLen);
  const out = tf.tidy(() => layer.apply(x, ctx));
  const r = tf.tensor(normalArray(99, "probe", out.size, 1), out.shape);
  out.dispose();
  const lossOf = (xIn: tf.Tensor) => tf.tidy(() => tf.sum(tf.mul(layer.apply(xIn, ctx), r)).dataSync()[0]!);
  const vars = layer.variables.map((v) => v.variable);
  const xVar = tf.variable(x.clone());
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(xVar, ctx), r)) as tf.Scalar, [...vars, xVar]);
  const eps = 1e-2;
  for (const v of [...vars, xVar]) {
    const analytic = grads[v.name]!.dataSync();
    const base = v.dataSync().slice();
    const picks = [0, Math.floor(base.length / 3), Math.floor((2 * base.length) / 3), base.length - 1];
    for (const i of picks) {
      const probe = (delta: number) => {
        const values = base.slice();
        values[i] += delta;
        v.assign(tf.tensor(values, v.shape));
        return v === xVar ? lossOf(xVar) : lossOf(x);
      };
      const numeric = (probe(eps) - probe(-eps)) / (2 * eps);
      v.assign(tf.tensor(base, v.shape));
      expect(Math.abs(numeric - analytic[i]!), `${v.name}[${i}]: numeric ${numeric} vs analytic ${analytic[i]}`).toBeLessThan(
        2e-2 * Math.max(1, Math.abs(analytic[i]!)),
      );
    }
  }
  tf.dispose([r, xVar, ...Object.values(grads)]);
}

describe("gradients match finite differences", () => {
  const cases: [string, IRLayer, number][] = [
    ["rms norm", { path: "n", index: 0, span: SPAN, argSpans: {}, kind: "norm", type: "rms", dim: 6, eps: 1e-5 }, 6],
    ["layer norm", { path: "n", index: 0, span: SPAN, argSpans: {}, kind: "norm", type: "layer", dim: 6, eps: 1e-5 }, 6],
    ["ffw gelu + bias", ffwIR("f", { d: 6, hidden: 8, act: "gelu", bias: true }), 6],
    ["ffw silu GLU", ffwIR("f", { d: 6, hidden: 8, act: "silu", glu: true }), 6],
    ["ffw gelu_tanh", ffwIR("f", { d: 6, hidden: 8, act: "gelu_tanh" }), 6],
    ["attention causal MHA + bias", attentionIR("a", { d: 8, heads: 2, headDim: 4, context: 8, bias: true }), 8],
    ["attention GQA + RoPE", attentionIR("a", { d: 8, heads: 4, kvHeads: 2, headDim: 2, context: 8, rope: true }), 8],
    ["moe token choice top-2 (renormalised gates)", moeIR("m", { d: 6, hidden: 5, experts: 3, topk: 2, capacity: 4, auxLoss: 0 }), 6],
    ["moe expert choice", moeIR("m", { d: 6, hidden: 5, experts: 3, routing: "expert", capacity: 1 }), 6],
  ];
  for (const [name, ir, width] of cases) {
    it(name, () => {
      const layer = build(ir);
      // Larger init so that gradients are of order 1 and the probe is well conditioned.
      for (const v of layer.variables) v.variable.assign(tf.mul(v.variable, ir.kind === "norm" ? 1 : 25));
      checkGradients(layer, input(6, width, 3), 2, 3);
    });
  }

  it("lm_head (untied) and embedding rows", () => {
    const ctx = createBuildContext({ seed: 1, backend: "cpu", blocks: 1 });
    const embed = createLayer({ path: "embed", index: 0, span: SPAN, argSpans: {}, kind: "embed", vocab: 5, dim: 4 }, ctx, null);
    const head = createLayer({ path: "head", index: 1, span: SPAN, argSpans: {}, kind: "lm_head", dModel: 4, vocab: 5, tied: false, bias: true }, ctx, "embed.weight");
    checkGradients(head, input(4, 4, 8), 2, 2);
    const ids = tf.tensor1d([1, 3, 1], "int32");
    const { ctx: fctx } = forwardContext(1, 3);
    const w = embed.variables[0]!.variable;
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(embed.apply(ids, fctx), tf.tensor2d([[1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3]]))) as tf.Scalar, [w]);
    expect(Array.from(grads[w.name]!.dataSync())).toEqual([0, 0, 0, 0, 4, 4, 4, 4, 0, 0, 0, 0, 2, 2, 2, 2, 0, 0, 0, 0]);
  });
});

describe("attention", () => {
  it("is causal: changing a future token leaves earlier outputs unchanged", () => {
    const layer = build(attentionIR("a", { d: 8, heads: 2, headDim: 4, context: 8, rope: true }));
    const { ctx } = forwardContext(2, 5);
    const x = input(10, 8, 4).arraySync();
    const y1 = tf.tidy(() => layer.apply(tf.tensor2d(x), ctx).arraySync() as number[][]);
    x[3] = x[3]!.map((v) => v + 5); // sequence 0, position 3
    const y2 = tf.tidy(() => layer.apply(tf.tensor2d(x), ctx).arraySync() as number[][]);
    for (let row = 0; row < 10; row++) {
      const changed = y1[row]!.some((v, j) => Math.abs(v - y2[row]![j]!) > 1e-6);
      expect(changed, `row ${row}`).toBe(row === 3 || row === 4); // only positions ≥ 3 of sequence 0
    }
  });

  it("GQA equals MHA when the kv weights are repeated per group", () => {
    const gqa = build(attentionIR("a", { d: 8, heads: 4, kvHeads: 2, headDim: 2, context: 8, rope: true }));
    const mha = build(attentionIR("a", { d: 8, heads: 4, kvHeads: 4, headDim: 2, context: 8, rope: true }), 2);
    const byPart = (l: RuntimeLayer, part: string) => l.variables.find((v) => v.name.endsWith(`.${part}`))!.variable;
    for (const part of ["wq", "wo"]) byPart(mha, part).assign(byPart(gqa, part));
    for (const part of ["wk", "wv"]) {
      // kv head g serves query heads 2g and 2g+1: repeat its 2 columns.
      const w = byPart(gqa, part).arraySync() as number[][];
      byPart(mha, part).assign(tf.tensor2d(w.map((row) => [row[0]!, row[1]!, row[0]!, row[1]!, row[2]!, row[3]!, row[2]!, row[3]!])));
    }
    const { ctx } = forwardContext(2, 4);
    const x = input(8, 8, 5);
    const a = tf.tidy(() => gqa.apply(x, ctx).dataSync());
    const b = tf.tidy(() => mha.apply(x, ctx).dataSync());
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 5);
  });

  it("the batched and per-head paths agree", async () => {
    const { createAttentionLayer } = await import("../../kinds/attention/runtime.js");
    const ir = attentionIR("a", { d: 8, heads: 4, kvHeads: 2, headDim: 2, context: 8, rope: true });
    const batched = createAttentionLayer(ir, createBuildContext({ seed: 3, backend: "cpu", blocks: 1 }), "batched");
    const perHead = createAttentionLayer(ir, createBuildContext({ seed: 3, backend: "cpu", blocks: 1 }), "per-head");
    const { ctx } = forwardContext(2, 4);
    const x = input(8, 8, 6);
    const a = tf.tidy(() => batched.apply(x, ctx).dataSync());
    const b = tf.tidy(() => perHead.apply(x, ctx).dataSync());
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 5);
  });
});

describe("mixture of experts", () => {
  it("load-balancing loss E·Σ f_i·P_i on a hand-made routing", () => {
    // 4 tokens, 2 experts; expert 0 chosen 3 times, expert 1 once.
    const probs = tf.tensor2d([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.3, 0.7]]);
    const routing = routeTokenChoice(Int32Array.from([0, 0, 0, 1]), 4, 1, 2, 10);
    const loss = loadBalancingLoss(probs, routing.chosen).dataSync()[0]!;
    // f = (3/4, 1/4), P = (2.6/4, 1.4/4): 2·(0.75·0.65 + 0.25·0.35) = 1.15
    expect(loss).toBeCloseTo(1.15, 5);
    // Perfect balance gives exactly 1.
    const uniform = tf.fill([4, 2], 0.5) as tf.Tensor2D;
    expect(loadBalancingLoss(uniform, Float64Array.from([2, 2])).dataSync()[0]).toBeCloseTo(1, 6);
  });

  it("token choice drops tokens beyond an expert's capacity, in token order", () => {
    const routing = routeTokenChoice(Int32Array.from([1, 1, 1, 0, 1]), 5, 1, 2, 2);
    expect(Array.from(routing.tokens[1]!)).toEqual([0, 1]);
    expect(Array.from(routing.tokens[0]!)).toEqual([3]);
    expect(Array.from(routing.chosen)).toEqual([1, 4]);
  });

  it("the layer adds its weighted balancing loss in training only", () => {
    const layer = createMoeLayer(moeIR("m", { d: 6, hidden: 4, experts: 3, topk: 2, auxLoss: 0.5 }), createBuildContext({ seed: 1, backend: "cpu", blocks: 1 }));
    const train = forwardContext(2, 4, true);
    tf.tidy(() => layer.apply(input(8, 6, 2), train.ctx));
    expect(train.aux).toHaveLength(1);
    const evalCtx = forwardContext(2, 4, false);
    tf.tidy(() => layer.apply(input(8, 6, 2), evalCtx.ctx));
    expect(evalCtx.aux).toHaveLength(0);
  });

  it("expert choice: every expert takes exactly floor(c·T/E) tokens", () => {
    const layer = createMoeLayer(moeIR("m", { d: 6, hidden: 4, experts: 4, routing: "expert", capacity: 1.5 }), createBuildContext({ seed: 2, backend: "cpu", blocks: 1 }));
    const records: RoutingRecord[] = [];
    const ctx = { training: false, batch: 2, seqLen: 8, addAuxLoss: () => {}, recordRouting: (r: RoutingRecord) => records.push(r) };
    const out = tf.tidy(() => layer.apply(input(16, 6, 2), ctx).shape);
    expect(out).toEqual([16, 6]);
    const capacity = Math.floor((1.5 * 16) / 4);
    const routing = layer.lastRouting()!;
    for (const tokens of routing.tokens) {
      expect(tokens.length).toBe(capacity);
      expect(new Set(tokens).size).toBe(capacity); // distinct tokens
    }
    const counts = [0, 0, 0, 0];
    for (const id of records[0]!.ids) counts[id]!++;
    expect(counts).toEqual([capacity, capacity, capacity, capacity]);
  });
});

describe("model builder", () => {
  it("same seed gives the same weights; names follow <layer path>.<part>", () => {
    const a = buildModel(denseModel(), { seed: 5, backend: "cpu" });
    const b = buildModel(denseModel(), { seed: 5, backend: "cpu" });
    const c = buildModel(denseModel(), { seed: 6, backend: "cpu" });
    expect(a.variables.map((v) => v.name)).toContain("blocks.1.mix.attention.wq");
    expect(a.variables.map((v) => v.name)).toContain("blocks.0.ff.ffw.w_out");
    for (let i = 0; i < a.variables.length; i++) {
      expect(Array.from(a.variables[i]!.variable.dataSync())).toEqual(Array.from(b.variables[i]!.variable.dataSync()));
    }
    const wq = (m: typeof a) => m.variables.find((v) => v.name === "blocks.0.mix.attention.wq")!.variable.dataSync()[0];
    expect(wq(a)).not.toBe(wq(c));
    [a, b, c].forEach((m) => m.dispose());
  });

  it("init statistics: matrices N(0, 0.02), output projections 0.02/√(2·blocks), gains 1, biases 0", () => {
    const model = buildModel(denseModel({ d: 64, blocks: 2 }), { seed: 1, backend: "cpu" });
    const std = (name: string) => {
      const v = model.variables.find((x) => x.name === name)!.variable.dataSync();
      let s = 0;
      for (const x of v) s += x * x;
      return Math.sqrt(s / v.length);
    };
    expect(std("blocks.0.mix.attention.wq")).toBeCloseTo(0.02, 3);
    expect(std("blocks.0.ff.ffw.w_out")).toBeCloseTo(0.02 / Math.sqrt(4), 3);
    expect(Array.from(model.variables.find((x) => x.name === "final_norm.gain")!.variable.dataSync()).every((g) => g === 1)).toBe(true);
    model.dispose();
  });

  it("tied head reuses the embedding: counted once", () => {
    const untied = buildModel(denseModel({ vocab: 20, d: 8 }), { seed: 1, backend: "cpu" });
    const tied = buildModel(denseModel({ vocab: 20, d: 8, tied: true }), { seed: 1, backend: "cpu" });
    expect(untied.paramCount() - tied.paramCount()).toBe(20 * 8);
    const ids = tf.tensor2d([[1, 2, 3, 4]], [1, 4], "int32");
    const { logits } = tied.forward(ids, "eval");
    expect(logits.shape).toEqual([4, 20]);
    expect(tied.variables.filter((v) => v.name === "embed.weight")).toHaveLength(1);
    [untied, tied].forEach((m) => m.dispose());
  });

  it("nested residuals: x + (f(x) + g(f(x)))", () => {
    const base = denseModel({ blocks: 1 });
    // Wrap both block residuals in one outer residual.
    const outer = { path: "blocks.0", start: base.residuals[0]!.start, end: base.residuals[1]!.end, span: SPAN };
    const model = buildModel({ ...base, residuals: [outer, ...base.residuals] }, { seed: 1, backend: "cpu" });
    const flat = buildModel(base, { seed: 1, backend: "cpu" });
    const ids = tf.tensor2d([[1, 2, 3]], [1, 3], "int32");
    const a = model.forward(ids, "eval").logits.dataSync();
    const b = flat.forward(ids, "eval").logits.dataSync();
    expect(Array.from(a).some((v, i) => Math.abs(v - b[i]!) > 1e-6)).toBe(true); // the outer skip changes the result
    [model, flat].forEach((m) => m.dispose());
  });
});
