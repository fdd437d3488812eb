/**
 * The emitted PEER/PKM functions are specialised: sizes are literals in the
 * calls, the head/half structure is resolved in the text (one matmul per head
 * and half when unrolled, one per half when batched), and nothing calls the
 * runtime layer's own forward. (That the code computes the right thing is
 * equivalence.test.ts's job.)
 */
import { describe, expect, it } from "vitest";
import { costModel } from "../../compiler/cost/index.js";
import { emitContext } from "../../compiler/emit/context.js";
import { emitTrainer } from "../../compiler/emit/index.js";
import { DEFAULT_HEAD_LAYOUT, type HeadLayout } from "../../compiler/emit/layer-types.js";
import { checkedModels } from "./helpers.js";

const SPEC = `
model pk {
  vocab 64
  context 16
  embed tokens(dim: 32)
  residual { norm rms; peer(experts: 12^2, heads: 3, topk: 5, key_dim: 10, act: silu, query_norm: layer, keys: per_head) }
  residual { norm rms; pkm(memories: 6^2, heads: 2, topk: 3, key_dim: 8, query_norm: none, keys: shared) }
  norm rms
  lm_head tied
}`;

function modelTs(layout?: HeadLayout): string {
  const ir = checkedModels(SPEC, "pk.peer")[0]!;
  const options = { specFile: "/tmp/pk.peer", outDir: "/tmp/pk", ...(layout ? { headLayout: { shared: layout, per_head: layout } } : {}) };
  return emitTrainer(emitContext(ir, costModel(ir), options)).get("model.ts")!;
}

/** The text of the emitted function whose name starts with `prefix`. */
function fn(text: string, prefix: string): string {
  const start = text.indexOf(`function ${prefix}`);
  expect(start).toBeGreaterThanOrEqual(0);
  return text.slice(start, text.indexOf("\n}\n", start));
}

describe("emitted product-key layers", () => {
  it("use literal sizes and the runtime's building blocks, never the runtime layer's forward", () => {
    const text = modelTs();
    expect(text).not.toContain(".apply(");
    const peer = fn(text, "peer(");
    // rows = tokens · heads, √N = 12, k' = k = 5; then 3 heads × 5 gates.
    expect(peer).toContain("productKeySearch(scores1, scores2, { subTopk: 5, topk: 5 })");
    expect(peer).toContain("[tokens * 3, 12]");
    expect(peer).toContain("{ heads: 3, keyDim: 10, subKeys: 12 }");
    expect(peer).toContain("[tokens, 15]");
    expect(peer).toContain('peerExperts(x, gates, hits.ids, w.experts.u, w.experts.v, "silu")');
    // The expert tables are typed in the nested weights object, with their shapes.
    expect(text).toMatch(/\/\*\* \[144, 32\] \(expert table, on the host\) \*\/ readonly u: ExpertTable;/);
    expect(text).toMatch(/\/\*\* \[36, 32\] \(expert table, on the host\) \*\/ readonly values: ExpertTable;/);
    expect(text).toContain("pkmValues(gates, hits.ids, w.values)");
  });

  it("resolves heads and halves at compile time in either layout", () => {
    const unrolled = modelTs("unrolled");
    // Per-head keys: one matmul per head (3) and half (2), each on its literal column offset.
    expect(unrolled.match(/tf\.matMul\(tf\.slice\(frozen, \[0, \d+\], \[-1, 5\]\)/g)).toHaveLength(6);
    for (const offset of [0, 5, 10, 15, 20, 25]) expect(unrolled).toContain(`tf.slice(frozen, [0, ${offset}], [-1, 5])`);
    expect(unrolled).not.toContain("tf.stack(");
    const batched = modelTs("batched");
    // Per-head keys batched: one 3-D matmul per half over the stacked keys of the 3 heads.
    expect(batched).toContain("tf.stack([w.keys[0][1], w.keys[1][1], w.keys[2][1]])");
    expect(batched).toContain("tf.stack([w.keys[0][2], w.keys[1][2], w.keys[2][2]])");
    expect(batched).not.toContain("tf.slice(frozen, [0, 5]");
    // Shared keys (the PKM layer) batched: heads folded into rows, one 2-D matmul per half.
    expect(batched).toContain("tf.reshape(frozen, [tokens * 2, 8])");
    // The default is the measured one.
    expect(modelTs()).toBe(modelTs(DEFAULT_HEAD_LAYOUT.per_head));
  });
});
