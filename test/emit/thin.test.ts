/**
 * The emitted model stays thin: one function per distinct layer
 * specialisation and per distinct block, a nested typed weights object bound
 * by the runtime, shared ops imported from the runtime (not retyped), RoPE
 * without a permutation matmul, and the ARCHITECTURE literal without the
 * report's budgets. Numerics are equivalence.test.ts's job; the RoPE rotation
 * is checked here against the generic model's applyRope.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import { costModel } from "../../compiler/cost/index.js";
import { emitContext } from "../../compiler/emit/context.js";
import { emitTrainer } from "../../compiler/emit/index.js";
import { selectBackend } from "../../runtime/backend/select.js";
import { applyRope, buildModel, ExpertTable, ropeTables, rotary, weightTree } from "../../runtime/index.js";
import { checkedModels, repoModel } from "./helpers.js";

function modelTs(spec: string, name: string): string {
  const ir = repoModel(spec, name);
  return emitTrainer(emitContext(ir, costModel(ir), { specFile: spec, outDir: "/tmp/peerc-thin" })).get("model.ts")!;
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

describe("the paper's 12-block PEER model.ts", () => {
  const text = modelTs("specs/paper.peer", "peer");

  it("is under 500 lines and deterministic", () => {
    expect(text.split("\n").length).toBeLessThan(500);
    expect(modelTs("specs/paper.peer", "peer")).toBe(text);
  });

  it("has one function per specialisation and one per distinct block, called per index", () => {
    // 25 RMSNorms, 12 attentions, 11 feed-forwards, one PEER: one function each.
    for (const fn of ["normRms", "attention", "ffw", "peer", "embed", "tiedLmHead"]) expect(count(text, `function ${fn}(`), fn).toBe(1);
    // Blocks 0–4 and 6–11 share one function; block 5 (the PEER block) has its own.
    expect(text.match(/^function block\w*\(/gm)).toEqual(["function block0(", "function block5("]);
    for (const i of [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]) expect(text).toContain(`x = block0(w.blocks[${i}], x, ctx);`);
    expect(text).toContain("x = block5(w.blocks[5], x, ctx, 5);");
  });

  it("binds a nested typed weights object and imports the shared ops", () => {
    expect(text).not.toContain("variableNamed");
    expect(text).toContain("readonly blocks: readonly [Block0Weights, Block0Weights, Block0Weights, Block0Weights, Block0Weights, Block5Weights,");
    expect(text).toContain("emittedModel<Weights>(ARCHITECTURE, options, WEIGHT_COUNT, forward)");
    for (const op of ["rmsNorm(", "activate(", "rotary(", "ropeTables(", "queryBatchNorm(", "productKeySearch("]) expect(text).toContain(op);
    // Runtime code is imported, not retyped: no RoPE table loops or BatchNorm updates in the file.
    expect(text).not.toMatch(/Math\.cos|\.assign\(|new Float32Array\(/);
    expect(text).toContain("productKeySearch(scores1, scores2, { subTopk: 16, topk: 16 })");
  });

  it("keeps budgets out of ARCHITECTURE and counts the FLOPs the code runs", () => {
    const arch = text.slice(text.indexOf("export const ARCHITECTURE"), text.indexOf("} as const;"));
    expect(arch).not.toMatch(/budgets|baseName|sweep/);
    expect(arch).toContain("train: {");
    expect(text).not.toContain(".rotate");
    expect(text).toContain("as emitted");
  });
});

describe("runtime helpers of emitted code", () => {
  beforeAll(async () => {
    await selectBackend("wasm");
  });

  it("rotary equals the generic rotate-half RoPE, values and gradient", () => {
    const [B, T, H, hd] = [2, 5, 3, 8];
    const x = tf.randomNormal([B * T, H * hd], 0, 1, "float32", 7) as tf.Tensor2D;
    const generic = applyRope(tf.reshape(x, [B, T, H, hd]) as tf.Tensor4D, 10_000);
    const emitted = rotary(x, ropeTables(T, { heads: H, headDim: hd, base: 10_000, scale: 1 }), { batch: B, seqLen: T, heads: H, headDim: hd });
    expect(emitted.shape).toEqual([B, T, H, hd]);
    const diff = tf.max(tf.abs(tf.sub(generic, emitted))).dataSync()[0]!;
    expect(diff).toBeLessThan(1e-6);
    // Same gradient (the swap's custom gradient is the swap of dy).
    const r = tf.randomNormal([B, T, H, hd], 0, 1, "float32", 8);
    const gGeneric = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(applyRope(tf.reshape(t, [B, T, H, hd]) as tf.Tensor4D, 10_000), r)))(x);
    const gEmitted = tf.grad((t: tf.Tensor) =>
      tf.sum(tf.mul(rotary(t, ropeTables(T, { heads: H, headDim: hd, base: 10_000, scale: 1 }), { batch: B, seqLen: T, heads: H, headDim: hd }), r)),
    )(x);
    expect(tf.max(tf.abs(tf.sub(gGeneric, gEmitted))).dataSync()[0]!).toBeLessThan(1e-5);
    expect(tf.max(tf.abs(gEmitted)).dataSync()[0]!).toBeGreaterThan(1e-2);
    // Not trivially equal: position 0 is unrotated, later positions are not.
    expect(tf.max(tf.abs(tf.sub(x, tf.reshape(emitted, [B * T, H * hd])))).dataSync()[0]!).toBeGreaterThan(1e-2);
  });

  it("weightTree nests every weight by name and refuses a stale count", () => {
    const ir = checkedModels(`
model t {
  vocab 32
  context 8
  embed tokens(dim: 16)
  repeat 2 {
    residual { norm rms; attention(heads: 2, head_dim: 8, causal) }
    residual { norm rms; peer(experts: 4^2, heads: 1, topk: 2, key_dim: 8, query_norm: batch) }
  }
  norm rms
  lm_head tied
}`, "t.peer")[0]!;
    const model = buildModel(ir, { seed: 1, backend: "wasm" });
    const total = model.variables.length + model.buffers().length + model.sparseTables.length;
    const tree = weightTree(model, total) as { blocks: { peer: { experts: { u: unknown }; query: { bn: { running_mean: tf.Variable } } } }[] };
    expect(Array.isArray(tree.blocks)).toBe(true);
    expect(tree.blocks).toHaveLength(2);
    expect(tree.blocks[1]!.peer.experts.u).toBeInstanceOf(ExpertTable);
    const secondPeer = ir.layers.filter((l) => l.kind === "peer")[1]!.path;
    expect(secondPeer).toMatch(/^blocks\.1\./);
    expect(tree.blocks[1]!.peer.query.bn.running_mean).toBe(model.buffers().find((b) => b.name === `${secondPeer}.query.bn.running_mean`)!.tensor);
    expect(() => weightTree(model, total + 1)).toThrow(/regenerate it with peerc compile/);
    model.dispose();
  });
});
