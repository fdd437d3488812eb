/**
 * Prints the worked examples of docs/cost-model.md from the cost model itself.
 * Run: npx tsx docs/cost-examples.ts
 */
import { layerCost } from "../compiler/cost/index.js";
import type { IRLayer } from "../ir/types.js";
import { attention, embed, ffw, lmHead, model, moe, paperPeer, pkm } from "../test/cost/ir-builder.js";
import { formatInt } from "../compiler/report/units.js";

const d = 1024;
const examples: [string, IRLayer][] = [
  ["PEER (paper): N 1024², h 8, k 16, d_key 256, shared keys, query bias, BN", paperPeer("peer")],
  ["PKM (paper baseline): 1024² memories, h 8, k 32, d_key 256, BN", pkm({ path: "pkm", dModel: d, memories: 1024 ** 2, heads: 8, topk: 32, keyDim: 256 })],
  ["MoE (paper baseline): 128 experts of width 4d, expert choice, c = 1", moe({ path: "moe", dModel: d, experts: 128, hidden: 4 * d, routing: "expert", capacity: 1 })],
  ["dense FFW 4d", ffw({ path: "ffw", dModel: d, hidden: 4 * d })],
  ["attention: 16 heads × 64, T 2048", attention({ path: "attention", dModel: d, heads: 16, headDim: 64, context: 2048 })],
  ["embedding 32000 × 1024", embed({ path: "embed", vocab: 32000, dim: d })],
  ["lm_head 1024 → 32000, tied", lmHead({ path: "lm_head", dModel: d, vocab: 32000 })],
];

const m = model({ dModel: d, layers: examples.map(([, l]) => l) });
for (const layer of m.layers) {
  const c = layerCost(layer, m);
  const title = examples[layer.index]![0];
  console.log(`\n### ${title}`);
  console.log(`params ${formatInt(c.params)}: ${Object.entries(c.paramsBreakdown).map(([k, v]) => `${k} ${formatInt(v)}`).join(", ")}`);
  if (c.buffers > 0n) console.log(`buffers ${formatInt(c.buffers)}`);
  if (c.sharedParams > 0n) console.log(`shared (counted at the embedding) ${formatInt(c.sharedParams)}`);
  console.log(`active params/token ${formatInt(c.activeParams)}`);
  console.log(`forward FLOPs/token: matrix ${formatInt(c.forward.matrix)} + elementwise ${formatInt(c.forward.elementwise)} = ${formatInt(c.forward.matrix + c.forward.elementwise)} (MACs ${formatInt(c.macs)})`);
  console.log(`  ${c.terms.map((t) => `${t.name} ${formatInt(t.matrix + t.elementwise)}`).join(", ")}`);
  console.log(`backward ${formatInt(c.backward.matrix + c.backward.elementwise)}; saved for backward/token: ${formatInt(c.savedElementsPerToken)} floats + ${c.savedIndicesPerToken} int32`);
  console.log(`traffic: weights/pass ${formatInt(c.traffic.weightElementsPerPass)} el, weights/token ${formatInt(c.traffic.weightElementsPerToken)} el, activations/token ${formatInt(c.traffic.activationElementsPerToken)} el, indices ${c.traffic.indexBytesPerToken} B`);
  if (c.nonFlop.topkCandidates > 0 || c.nonFlop.gatheredRows > 0) console.log(`selection: ${formatInt(c.nonFlop.topkCandidates)} top-k candidates, ${c.nonFlop.gatheredRows} rows of ${c.nonFlop.gatheredRowWidth} gathered`);
}
