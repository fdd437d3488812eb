/**
 * AdamW (Loshchilov & Hutter): Adam moments with bias correction and weight
 * decay decoupled from the gradient, p ← p − lr·(m̂/(√v̂ + ε) + λ·p).
 * Variables marked noDecay (norm gains, biases, embeddings) skip λ unless
 * decayAll. Sparse expert tables update themselves (lazy AdamW on touched rows)
 * with their own learning rate.
 */
import * as tf from "@tensorflow/tfjs";
import type { NamedVariable, SparseTable } from "../layers/layer.js";

export interface AdamWConfig {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly decayAll: boolean;
}

export class AdamW {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  /** Updates applied so far (bias correction uses step + 1). */
  step = 0;

  constructor(
    private readonly variables: readonly NamedVariable[],
    private readonly tables: readonly SparseTable[],
    readonly config: AdamWConfig,
  ) {
    for (const { name, variable } of variables) {
      this.m.set(name, tf.variable(tf.zerosLike(variable), false));
      this.v.set(name, tf.variable(tf.zerosLike(variable), false));
    }
  }

  /**
   * One update. `grads` are keyed by NamedVariable.name; a missing gradient
   * counts as zero (e.g. an MoE expert that got no tokens). `lr` drives the dense
   * variables, `tableLr` the sparse tables.
   */
  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number, tableLr: number): void {
    const t = ++this.step;
    const { beta1, beta2, eps, weightDecay, decayAll } = this.config;
    const correction1 = 1 - Math.pow(beta1, t);
    const correction2 = 1 - Math.pow(beta2, t);
    for (const { name, variable, noDecay } of this.variables) {
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      tf.tidy(() => {
        const g = grads.get(name) ?? tf.zerosLike(variable);
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        let update = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), eps));
        if (weightDecay > 0 && (decayAll || !noDecay)) update = tf.add(update, tf.mul(variable, weightDecay));
        variable.assign(tf.sub(variable, tf.mul(update, lr)));
      });
    }
    for (const table of this.tables) {
      table.step({ lr: tableLr, beta1, beta2, eps, weightDecay: decayAll ? weightDecay : 0, step: t });
    }
  }

  /** Moments for checkpoints: "<name>.adam_m" / "<name>.adam_v". */
  state(): { readonly name: string; readonly tensor: tf.Variable }[] {
    return this.variables.flatMap(({ name }) => [
      { name: `${name}.adam_m`, tensor: this.m.get(name)! },
      { name: `${name}.adam_v`, tensor: this.v.get(name)! },
    ]);
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}
