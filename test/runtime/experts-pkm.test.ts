import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import type { RoutingRecord } from "../../runtime/layers/layer.js";
import { createPkmLayer } from "../../kinds/pkm/runtime.js";
import { context, pkmSpec, randomArray, seededRng, useWasm } from "./experts-fixtures.js";
import { allScores, referenceQueries } from "./experts-reference.js";

beforeAll(useWasm);

describe("PKM layer", () => {
  for (const keys of ["shared", "per_head"] as const) {
    it(`equals Σ_heads softmax-weighted values of the brute-force top-k (${keys} keys, batch norm)`, () => {
      const spec = pkmSpec({ subKeys: 6, heads: 3, topk: 4, subTopk: 4, keys, queryNorm: "batch", valueDim: 5, dModel: 7 });
      const layer = createPkmLayer(spec, { rng: seededRng(91), dModel: 7 });
      const tokens = 6;
      const x = randomArray(tokens * 7, seededRng(92));
      const records: RoutingRecord[] = [];
      const out = tf.tidy(() => layer.apply(tf.tensor2d(x, [tokens, 7]), context(true, 1, tokens, records)).dataSync());
      expect(out.length).toBe(tokens * spec.valueDim);
      const q = referenceQueries(spec, layer.variables, x, tokens);
      for (let t = 0; t < tokens; t++) {
        const expected = new Float64Array(spec.valueDim);
        for (let h = 0; h < spec.heads; h++) {
          const s = allScores(spec, layer.variables, q, t, h);
          const top = Array.from(s.keys()).sort((a, b) => s[b] - s[a]).slice(0, spec.topk);
          expect(new Set(records[0].ids.subarray((t * spec.heads + h) * 4, (t * spec.heads + h + 1) * 4))).toEqual(new Set(top));
          const max = s[top[0]];
          const total = top.reduce((acc, id) => acc + Math.exp(s[id] - max), 0);
          for (const id of top) {
            const g = Math.exp(s[id] - max) / total;
            for (let c = 0; c < spec.valueDim; c++) expected[c] += g * layer.values.table[id * spec.valueDim + c];
          }
        }
        for (let c = 0; c < spec.valueDim; c++) expect(out[t * spec.valueDim + c]).toBeCloseTo(expected[c], 4);
      }
    });
  }

  it("names its variables and table after the layer path", () => {
    const spec = pkmSpec({ subKeys: 4, keys: "per_head", heads: 2, queryNorm: "layer", queryBias: true });
    const layer = createPkmLayer(spec, { rng: seededRng(1), dModel: 8 });
    expect(layer.variables.map((v) => v.name)).toEqual([
      "blocks.0.ffw.pkm.query.w",
      "blocks.0.ffw.pkm.query.b",
      "blocks.0.ffw.pkm.query.ln.gamma",
      "blocks.0.ffw.pkm.query.ln.beta",
      "blocks.0.ffw.pkm.keys.0.1",
      "blocks.0.ffw.pkm.keys.0.2",
      "blocks.0.ffw.pkm.keys.1.1",
      "blocks.0.ffw.pkm.keys.1.2",
    ]);
    expect(layer.variables.map((v) => v.noDecay)).toEqual([false, true, true, true, false, false, false, false]);
    expect(layer.sparseTables.map((t) => [t.name, t.rows, t.cols])).toEqual([["blocks.0.ffw.pkm.values", 16, 8]]);
    expect(layer.buffers()).toEqual([]);
  });
});
