/**
 * The fused dense optimizer on wasm (host passes over the heap buffers for the
 * clip norm, the clip scaling and AdamW) against a reference: the per-variable
 * tf-op AdamW and clipping as first written, over several steps with clipping
 * active, weight decay on some variables, a missing gradient and buffers that
 * other tensors share.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import type { NamedVariable } from "../../runtime/layers/layer.js";
import { AdamW, type AdamWConfig } from "../../runtime/train/adamw.js";
import { clipFactor, globalGradNorm, gradSquaredSum, scaleGradients } from "../../runtime/train/clip.js";
import { randomArray, seededRng, useWasm } from "./experts-fixtures.js";

beforeAll(useWasm);

/** Reference AdamW: the tf-op update per variable. */
class ReferenceAdamW {
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();
  step = 0;
  constructor(private readonly variables: readonly NamedVariable[], private readonly config: AdamWConfig) {
    for (const { name, variable } of variables) {
      this.m.set(name, tf.variable(tf.zerosLike(variable), false));
      this.v.set(name, tf.variable(tf.zerosLike(variable), false));
    }
  }
  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    const t = ++this.step;
    const { beta1, beta2, eps, weightDecay, decayAll } = this.config;
    const c1 = 1 - Math.pow(beta1, t);
    const c2 = 1 - Math.pow(beta2, t);
    for (const { name, variable, noDecay } of this.variables) {
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      tf.tidy(() => {
        const g = grads.get(name) ?? tf.zerosLike(variable);
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        let update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), eps));
        if (weightDecay > 0 && (decayAll || !noDecay)) update = tf.add(update, tf.mul(variable, weightDecay));
        variable.assign(tf.sub(variable, tf.mul(update, lr)));
      });
    }
  }
}

function referenceNorm(grads: tf.Tensor[]): number {
  return Math.sqrt(tf.tidy(() => tf.addN(grads.map((g) => tf.sum(tf.square(g)))).dataSync()[0]!));
}

const CONFIG: AdamWConfig = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, decayAll: false };
const SHAPES: [string, number[], boolean][] = [
  ["w1", [12, 9], false],
  ["b1", [9], true],
  ["w2", [9, 5], false],
  ["gain", [5], true],
  ["unused", [3, 3], false], // never gets a gradient
];

/** Two identical parameter sets; `kept` holds the tensors the first set's variables were made from (shared buffers). */
let sets = 0;
function parameters(): { a: NamedVariable[]; b: NamedVariable[]; kept: tf.Tensor[] } {
  const rng = seededRng(7);
  const set = sets++;
  const a: NamedVariable[] = [];
  const b: NamedVariable[] = [];
  const kept: tf.Tensor[] = [];
  for (const [name, shape, noDecay] of SHAPES) {
    const values = randomArray(shape.reduce((x, y) => x * y, 1), rng, 0.5);
    const init = tf.tensor(values, shape);
    kept.push(init);
    // One variable in the tables' learning-rate group (device tables are variables like this).
    const lrGroup = name === "w2" ? ("table" as const) : undefined;
    a.push({ name, variable: tf.variable(init, true, `fused${set}.${name}`), noDecay, lrGroup });
    b.push({ name, variable: tf.variable(tf.tensor(values, shape), true, `ref${set}.${name}`), noDecay, lrGroup });
  }
  return { a, b, kept };
}

function lossOf(vars: NamedVariable[], x: tf.Tensor2D, y: tf.Tensor2D): () => tf.Scalar {
  const [w1, b1, w2, gain] = vars.map((v) => v.variable);
  return () => tf.mean(tf.square(tf.sub(tf.mul(tf.matMul(tf.tanh(tf.add(tf.matMul(x, w1!), b1!)), w2!), gain!), y))) as tf.Scalar;
}

function gradsOf(vars: NamedVariable[], f: () => tf.Scalar): Map<string, tf.Tensor> {
  const used = vars.filter((v) => v.name !== "unused");
  const { value, grads } = tf.variableGrads(f, used.map((v) => v.variable));
  value.dispose();
  return new Map(used.map((v) => [v.name, grads[v.variable.name]!]));
}

function expectClose(actual: tf.Tensor, expected: tf.Tensor, what: string): void {
  const a = actual.dataSync();
  const e = expected.dataSync();
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - e[i]!) / (1e-6 + 1e-4 * Math.abs(e[i]!)));
  expect(worst, what).toBeLessThan(1);
}

describe("fused dense optimizer on wasm", () => {
  it("follows the tf-op AdamW and clipping over 8 steps with clipping active, and calls no kernels", async () => {
    const { a, b, kept } = parameters();
    const keptBefore = kept.map((t) => t.dataSync().slice());
    const rng = seededRng(8);
    const fused = new AdamW(a, [], CONFIG);
    const reference = new ReferenceAdamW(b, CONFIG);
    const maxNorm = 0.05;
    let clipped = 0;
    for (let step = 1; step <= 8; step++) {
      const x = tf.tensor2d(randomArray(16 * 12, rng), [16, 12]);
      const y = tf.tensor2d(randomArray(16 * 5, rng), [16, 5]);
      const ga = gradsOf(a, lossOf(a, x, y));
      const gb = gradsOf(b, lossOf(b, x, y));
      // A gradient sharing its buffer with another tensor must not be scaled in place.
      const alias = tf.reshape(ga.get("gain")!, [5]);
      const aliasBefore = alias.dataSync().slice();

      const normRef = referenceNorm([...gb.values()]);
      let normFused = 0;
      let kernels = -1;
      const profile = await tf.profile(() => {
        normFused = globalGradNorm(ga.values(), []);
        scaleGradients(ga, [], clipFactor(normFused, maxNorm));
        fused.apply(ga, 0.01, 0.01);
      });
      kernels = profile.kernels.filter((k) => k.name !== "Multiply").length;
      const total = profile.kernels.length; // tf.profile reuses one object: read it before the next profile
      // The trainer's form of the norm: one scalar, also without kernels on wasm.
      let squared = 0;
      const sumProfile = await tf.profile(() => {
        const scalar = gradSquaredSum(gb.values())!;
        squared = scalar.dataSync()[0]!;
        scalar.dispose();
      });
      expect(sumProfile.kernels.length).toBe(0);
      // Only the shared gradient needs a kernel (one Multiply); the rest is host passes.
      expect(kernels).toBe(0);
      expect(total).toBe(1);
      expect(normFused / normRef).toBeCloseTo(1, 5);
      expect(Math.sqrt(squared) / normRef).toBeCloseTo(1, 5);
      const factor = clipFactor(normRef, maxNorm);
      if (factor < 1) clipped++;
      const scaled = new Map([...gb].map(([k, g]) => [k, tf.mul(g, factor)]));
      reference.apply(scaled, 0.01);
      expect(Array.from(alias.dataSync())).toEqual(Array.from(aliasBefore));

      for (let i = 0; i < a.length; i++) expectClose(a[i]!.variable, b[i]!.variable, `${a[i]!.name} at step ${step}`);
      for (const entry of fused.state()) {
        const [name, which] = entry.name.split(".adam_");
        expectClose(entry.tensor, (which === "m" ? reference.m : reference.v).get(name!)!, `${entry.name} at step ${step}`);
      }
      for (const g of [...ga.values(), ...gb.values(), ...scaled.values(), alias, x, y]) g.dispose();
    }
    expect(clipped).toBe(8);
    // Parameters moved, and the tensors the variables were created from did not.
    expect(Array.from(a[0]!.variable.dataSync())).not.toEqual(Array.from(keptBefore[0]!));
    kept.forEach((t, i) => expect(Array.from(t.dataSync())).toEqual(Array.from(keptBefore[i]!)));
    // The never-updated variable still decays (noDecay false) as in the reference.
    expectClose(a[4]!.variable, b[4]!.variable, "unused");
  });

  it("the tf-op path (other backends) gives the same trajectory as the host pass, lrGroup 'table' taking tableLr", () => {
    const { a, b } = parameters();
    const host = new AdamW(a, [], CONFIG);
    const ops = new AdamW(b, [], CONFIG);
    ops.hostMode = false;
    const rng = seededRng(9);
    for (let step = 1; step <= 4; step++) {
      const x = tf.tensor2d(randomArray(16 * 12, rng), [16, 12]);
      const y = tf.tensor2d(randomArray(16 * 5, rng), [16, 5]);
      const ga = gradsOf(a, lossOf(a, x, y));
      const gb = gradsOf(b, lossOf(b, x, y));
      host.apply(ga, 0.02, 0.05);
      ops.apply(gb, 0.02, 0.05);
      for (const g of [...ga.values(), ...gb.values(), x, y]) g.dispose();
    }
    for (let i = 0; i < a.length; i++) expectClose(a[i]!.variable, b[i]!.variable, a[i]!.name);
  });
});
