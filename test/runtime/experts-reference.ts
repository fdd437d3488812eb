/**
 * A plain-JS float64 PEER/PKM forward that scores all N concatenated keys
 * (no product-key trick), for comparison with the runtime layers.
 */
import type { PeerLayer, PkmLayer } from "../../ir/types.js";
import { scalarActivation } from "../../runtime/experts/activations.js";
import type { NamedVariable } from "../../runtime/layers/layer.js";

function value(vars: readonly NamedVariable[], name: string): Float32Array {
  const v = vars.find((n) => n.name === name);
  if (!v) throw new Error(`no variable ${name}`);
  return v.variable.dataSync() as Float32Array;
}

/** Queries [T, h·dk] after projection and norm (BatchNorm: batch statistics). */
export function referenceQueries(layer: PeerLayer | PkmLayer, vars: readonly NamedVariable[], x: Float32Array, tokens: number): Float64Array {
  const { dModel: d, heads, keyDim, path } = layer;
  const width = heads * keyDim;
  const w = value(vars, `${path}.query.w`);
  const q = new Float64Array(tokens * width);
  for (let t = 0; t < tokens; t++) {
    for (let o = 0; o < width; o++) {
      let s = layer.queryBias ? value(vars, `${path}.query.b`)[o] : 0;
      for (let c = 0; c < d; c++) s += x[t * d + c] * w[c * width + o];
      q[t * width + o] = s;
    }
  }
  if (layer.queryNorm === "batch") {
    const g = value(vars, `${path}.query.bn.gamma`);
    const b = value(vars, `${path}.query.bn.beta`);
    for (let o = 0; o < width; o++) {
      let mean = 0;
      for (let t = 0; t < tokens; t++) mean += q[t * width + o];
      mean /= tokens;
      let variance = 0;
      for (let t = 0; t < tokens; t++) variance += (q[t * width + o] - mean) ** 2;
      variance /= tokens;
      for (let t = 0; t < tokens; t++) q[t * width + o] = ((q[t * width + o] - mean) / Math.sqrt(variance + 1e-5)) * g[o] + b[o];
    }
  }
  return q;
}

/** All N scores of head `head` for token t: score(i·√N + j) = q1·K1[:, i] + q2·K2[:, j]. */
export function allScores(layer: PeerLayer | PkmLayer, vars: readonly NamedVariable[], q: Float64Array, t: number, head: number): Float64Array {
  const { heads, keyDim, subKeys, path } = layer;
  const half = keyDim / 2;
  const prefix = layer.keys === "shared" ? `${path}.keys` : `${path}.keys.${head}`;
  const k1 = value(vars, `${prefix}.1`);
  const k2 = value(vars, `${prefix}.2`);
  const base = t * heads * keyDim + head * keyDim;
  const out = new Float64Array(subKeys * subKeys);
  for (let i = 0; i < subKeys; i++) {
    let a = 0;
    for (let c = 0; c < half; c++) a += q[base + c] * k1[c * subKeys + i];
    for (let j = 0; j < subKeys; j++) {
      let b = 0;
      for (let c = 0; c < half; c++) b += q[base + half + c] * k2[c * subKeys + j];
      out[i * subKeys + j] = a + b;
    }
  }
  return out;
}

/** Brute-force PEER forward: top-k over all N scores, softmax per head, Σ g·σ(u·x)·v. */
export function referencePeer(
  layer: PeerLayer,
  vars: readonly NamedVariable[],
  u: Float32Array,
  v: Float32Array,
  x: Float32Array,
  tokens: number,
): { out: Float64Array; ids: number[][] } {
  const d = layer.dModel;
  const sigma = scalarActivation(layer.act);
  const q = referenceQueries(layer, vars, x, tokens);
  const out = new Float64Array(tokens * d);
  const ids: number[][] = [];
  for (let t = 0; t < tokens; t++) {
    for (let h = 0; h < layer.heads; h++) {
      const scores = allScores(layer, vars, q, t, h);
      const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b).slice(0, layer.topk);
      ids.push(order);
      const max = Math.max(...order.map((id) => scores[id]));
      const exps = order.map((id) => Math.exp(scores[id] - max));
      const total = exps.reduce((a, b) => a + b, 0);
      order.forEach((id, n) => {
        const g = layer.scores === "softmax" ? exps[n] / total : 1 / (1 + Math.exp(-scores[id]));
        let a = 0;
        for (let c = 0; c < d; c++) a += u[id * d + c] * x[t * d + c];
        const w = g * sigma.value(a);
        for (let c = 0; c < d; c++) out[t * d + c] += w * v[id * d + c];
      });
    }
  }
  return { out, ids };
}
