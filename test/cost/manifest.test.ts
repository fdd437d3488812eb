/**
 * The weight manifests (kinds/<kind>/weights.ts) and the cost formulas
 * (kinds/<kind>/cost.ts) describe the same tensors: for every layer of every
 * spec and of the everything fixture, the manifest's trained values are the
 * cost model's params, its buffers the cost model's buffers, and its expert
 * tables the cost model's sparse tables.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { checkFiles } from "../../compiler/check/index.js";
import { layerCost } from "../../compiler/cost/index.js";
import { KINDS, layerWeights } from "../../kinds/index.js";
import { weightSize } from "../../kinds/manifest.js";
import { RUNTIME_KINDS } from "../../kinds/runtime.js";
import { LAYER_KINDS } from "../../ir/types.js";

const repo = path.resolve(import.meta.dirname, "../..");
const files = [
  ...fs.readdirSync(path.join(repo, "specs")).filter((f) => f.endsWith(".peer")).map((f) => path.join(repo, "specs", f)),
  path.join(repo, "test/fixtures/good/everything.peer"),
];
/** The optional tensors the specs leave out: learned positions, biases, GLU, layer norms, per-head keys. */
const VARIANTS = `
model variants {
  vocab 64
  context 32
  embed tokens(dim: 16)
  positions learned
  norm layer
  attention(heads: 4, kv_heads: 2, bias)
  ffw(hidden: 32, glu, bias)
  moe(experts: 4, hidden: 8, glu, bias)
  pkm(memories: 4^2, heads: 2, topk: 4, key_dim: 4, query_norm: layer, query_bias: false)
  peer(experts: 4^2, heads: 2, topk: 4, key_dim: 4, keys: per_head, query_norm: none, glu)
  lm_head untied(bias: true)
}
`;
const variants = checkFiles(["variants.peer"], { readFile: (f) => (f === "variants.peer" ? VARIANTS : undefined) });
const models = [...checkFiles(files).program.models, ...variants.program.models];

describe("weight manifests against the cost model", () => {
  it("both registries list every layer kind with the same manifest function", () => {
    for (const kind of LAYER_KINDS) expect(RUNTIME_KINDS[kind].weights).toBe(KINDS[kind].weights);
  });

  it("cover every kind across the specs", () => {
    expect(variants.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const kinds = new Set(models.flatMap((m) => m.layers.map((l) => l.kind)));
    expect([...kinds].sort()).toEqual([...LAYER_KINDS].sort());
  });

  it("docs/weights.md names every tensor of every manifest (export names)", () => {
    const doc = fs.readFileSync(path.join(repo, "docs/weights.md"), "utf8");
    const missing = new Set<string>();
    for (const model of models) {
      for (const layer of model.layers) {
        for (const w of layerWeights(layer)) {
          // The page writes one MoE expert as ffw's tensors and per-head keys as keys.<head>.
          const name = w.name.replace(/^experts\.\d+\./, "").replace(/^keys\.\d+\./, "keys.<head>.");
          if (!doc.includes("`P." + name + "`")) missing.add(`${layer.kind}: P.${name}`);
        }
      }
    }
    expect([...missing]).toEqual([]);
  });

  for (const model of models) {
    it(`${model.name}: params, buffers and sparse tables per layer`, () => {
      for (const layer of model.layers) {
        const manifest = layerWeights(layer);
        const cost = layerCost(layer, model);
        const trained = manifest.filter((w) => w.role !== "buffer").reduce((n, w) => n + BigInt(weightSize(w)), 0n);
        const buffers = manifest.filter((w) => w.role === "buffer").reduce((n, w) => n + BigInt(weightSize(w)), 0n);
        expect(trained, `${model.name} ${layer.path} params`).toBe(cost.params);
        expect(buffers, `${model.name} ${layer.path} buffers`).toBe(cost.buffers);
        const tables = manifest.filter((w) => w.role === "expert_table").map((w) => [BigInt(w.shape[0]!), w.shape[1], w.rowsPerToken]);
        expect(tables, `${model.name} ${layer.path} tables`).toEqual(cost.sparseTables.map((t) => [t.rows, t.cols, t.rowsPerToken]));
        expect(new Set(manifest.map((m) => m.name)).size, `${layer.path}: unique names`).toBe(manifest.length);
      }
    });
  }
});
