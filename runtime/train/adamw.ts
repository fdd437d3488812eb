/**
 * AdamW (Loshchilov & Hutter): Adam moments with bias correction and weight
 * decay decoupled from the gradient, p ← p − lr·(m̂/(√v̂ + ε) + λ·p).
 * Variables marked noDecay (norm gains, biases, embeddings) skip λ unless
 * decayAll. Sparse expert tables update themselves (lazy AdamW on touched rows)
 * with their own learning rate.
 *
 * On wasm the dense update is one host pass per variable over its parameter,
 * moment and gradient buffers in the wasm heap (no kernel calls; moments in
 * place, parameters into a new heap buffer each; see applyHost, host-buffers.ts). Other backends run
 * the same arithmetic as tf ops per variable (`applyOps`), which is also the
 * reference the host pass is tested against.
 *
 * Expert tables held as variables on a device backend (NamedVariable.rowMask)
 * get the host tables' lazy AdamW instead (runtime/experts/lazy-adamw.ts),
 * as tf ops on the device: only the rows their layer's backward retrieved are
 * updated, with the decay they owe since their last update, and their moments
 * alone move; `<name>.last_step` ([rows], the step of each row's last update)
 * is checkpointed beside the moments, under the host tables' name.
 */
import * as tf from "@tensorflow/tfjs";
import type { NamedVariable, SparseTable } from "../layers/layer.js";
import { lazyMoment, lazyParam } from "../backend/kernels/lazy-adamw-webgpu.js";
import { exclusive, heapView, wasmHeap, type WasmHeapBackend } from "./host-buffers.js";

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
  /** Device expert tables: the optimizer step of each row's last update. */
  private readonly lastStep = new Map<string, tf.Variable>();
  /** Updated densely (every element, every step). */
  private readonly dense: readonly NamedVariable[];
  /** Updated lazily, only the rows in their rowMask. */
  private readonly lazy: readonly NamedVariable[];
  /** Updates applied so far (bias correction uses step + 1). */
  step = 0;

  constructor(
    private readonly variables: readonly NamedVariable[],
    private readonly tables: readonly SparseTable[],
    readonly config: AdamWConfig,
  ) {
    for (const { name, variable } of variables) {
      // In a tidy so the zeros are released and each moment owns its buffer.
      this.m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(variable), false)));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(variable), false)));
    }
    this.dense = variables.filter((v) => v.rowMask === undefined);
    this.lazy = variables.filter((v) => v.rowMask !== undefined);
    for (const { name, variable } of this.lazy) this.lastStep.set(name, tf.variable(tf.zeros([variable.shape[0]!]), false));
  }

  /**
   * One update. `grads` are keyed by NamedVariable.name; a missing gradient
   * counts as zero (e.g. an MoE expert that got no tokens). `lr` drives the dense
   * variables, `tableLr` the sparse tables.
   */
  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number, tableLr: number): void {
    const t = ++this.step;
    const { beta1, beta2, eps, weightDecay, decayAll } = this.config;
    const backend = wasmHeap();
    if (backend !== null && this.hostMode) this.applyHost(backend, grads, lr, t, tableLr);
    else this.applyOps(grads, lr, t, tableLr);
    for (const named of this.lazy) this.applyLazyRows(named, grads.get(named.name), tableLr, t);
    for (const table of this.tables) {
      table.step({ lr: tableLr, beta1, beta2, eps, weightDecay: decayAll ? weightDecay : 0, step: t });
    }
  }

  /** Set false to force the per-variable tf-op update on wasm too (tests compare the two). */
  hostMode = true;

  /** Set false to run device tables' lazy update as tf ops on webgpu too (bench/device-update.ts compares). */
  lazyKernels = true;

  /** The dense update as tf ops, per variable (any backend). */
  private applyOps(grads: ReadonlyMap<string, tf.Tensor>, lr: number, t: number, tableLr = lr): void {
    const { beta1, beta2, eps, weightDecay, decayAll } = this.config;
    const correction1 = 1 - Math.pow(beta1, t);
    const correction2 = 1 - Math.pow(beta2, t);
    for (const { name, variable, noDecay, lrGroup } of this.dense) {
      // Expert tables held as variables (device backends) take the tables' rate.
      const rate = lrGroup === "table" ? tableLr : lr;
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      tf.tidy(() => {
        const g = grads.get(name) ?? tf.zerosLike(variable);
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        let update = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), eps));
        if (weightDecay > 0 && (decayAll || !noDecay)) update = tf.add(update, tf.mul(variable, weightDecay));
        variable.assign(tf.sub(variable, tf.mul(update, rate)));
      });
    }
  }

  /**
   * The dense update on wasm: per variable one loop over p, m, v and g in the
   * heap. The moments are updated in place; each parameter is written into a
   * fresh heap buffer that the variable then takes over, because the wasm
   * matmul caches the packed weights of its right operand by buffer id (an
   * in-place parameter write would leave that cache stale). All allocations
   * happen before any heap view is taken (heap growth detaches views).
   */
  private applyHost(backend: WasmHeapBackend, grads: ReadonlyMap<string, tf.Tensor>, lr: number, t: number, tableLr: number): void {
    const { beta1, beta2, eps, weightDecay, decayAll } = this.config;
    for (const { name } of this.dense) {
      exclusive(backend, this.m.get(name)!);
      exclusive(backend, this.v.get(name)!);
    }
    const outputs = this.dense.map(({ variable }) => backend.makeOutput(variable.shape, "float32"));
    const a1 = 1 - beta1;
    const a2 = 1 - beta2;
    const inv1 = 1 / (1 - Math.pow(beta1, t));
    const inv2 = 1 / (1 - Math.pow(beta2, t));
    this.dense.forEach(({ name, variable, noDecay, lrGroup }, k) => {
      const rate = lrGroup === "table" ? tableLr : lr;
      const grad = grads.get(name);
      const p = heapView(backend, variable);
      const out = backend.typedArrayFromHeap(outputs[k]!) as Float32Array;
      const m = heapView(backend, this.m.get(name)!);
      const v = heapView(backend, this.v.get(name)!);
      const wd = weightDecay > 0 && (decayAll || !noDecay) ? weightDecay : 0;
      if (grad !== undefined && grad.size !== p.length) throw new Error(`gradient of ${name} has ${grad.size} values, the variable ${p.length}`);
      const g = grad === undefined ? null : heapView(backend, grad);
      for (let i = 0; i < p.length; i++) {
        const gi = g === null ? 0 : g[i];
        const mi = beta1 * m[i] + a1 * gi;
        const vi = beta2 * v[i] + a2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        const pi = p[i];
        out[i] = pi - rate * ((mi * inv1) / (Math.sqrt(vi * inv2) + eps) + wd * pi);
      }
    });
    this.dense.forEach(({ variable }, k) => {
      const next = tf.engine().makeTensorFromTensorInfo(outputs[k]!);
      variable.assign(next);
      next.dispose();
    });
  }

  /**
   * lazyAdamwRows (runtime/experts/lazy-adamw.ts) for a device table, on the
   * device: a dense pass whose row mask selects the touched rows (docs/gpu.md,
   * "Updates": at the paper's batch every row is touched each step). For a
   * touched row r: w ← w·(1 − lr·wd)^max(1, t − last[r]) − lr·m̂/(√v̂ + ε) with
   * this step's moments, last[r] ← t; other rows, their moments and last[r]
   * keep their values exactly. Clears the mask.
   */
  private applyLazyRows(named: NamedVariable, grad: tf.Tensor | undefined, lr: number, t: number): void {
    const { name, variable, noDecay } = named;
    const mask = named.rowMask!;
    const { beta1, beta2, eps, weightDecay, decayAll } = this.config;
    const m = this.m.get(name)!;
    const v = this.v.get(name)!;
    const last = this.lastStep.get(name)!;
    const wd = weightDecay > 0 && (decayAll || !noDecay) ? weightDecay : 0;
    tf.tidy(() => {
      const rows = variable.shape[0]!;
      const hitRow = tf.greater(mask, 0);
      const g = grad ?? tf.zerosLike(variable);
      if (this.lazyKernels && tf.getBackend() === "webgpu") {
        // One WGSL pass per array (runtime/backend/kernels/lazy-adamw-webgpu.ts), same arithmetic.
        const m1 = lazyMoment(m, g, mask, beta1, 1 - beta1, false);
        const v1 = lazyMoment(v, g, mask, beta2, 1 - beta2, true);
        const hyper = { lr, c1: 1 - Math.pow(beta1, t), c2: 1 - Math.pow(beta2, t), eps, keep: 1 - lr * wd, step: t };
        variable.assign(lazyParam(variable, m1, v1, mask, last, hyper));
        m.assign(m1);
        v.assign(v1);
        last.assign(tf.where(hitRow, tf.fill([rows], t), last));
        mask.assign(tf.zerosLike(mask));
        return;
      }
      const hit = tf.reshape(hitRow, [rows, 1]);
      const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
      const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
      const step = tf.div(tf.mul(tf.div(m1, 1 - Math.pow(beta1, t)), lr), tf.add(tf.sqrt(tf.div(v1, 1 - Math.pow(beta2, t))), eps));
      // The decay owed since the row's last update, this step's included.
      const kept = wd === 0 ? variable : tf.mul(variable, tf.reshape(tf.pow(1 - lr * wd, tf.maximum(tf.sub(t, last), 1)), [rows, 1]));
      variable.assign(tf.where(hit, tf.sub(kept, step), variable));
      m.assign(tf.where(hit, m1, m));
      v.assign(tf.where(hit, v1, v));
      last.assign(tf.where(hitRow, tf.fill([rows], t), last));
      mask.assign(tf.zerosLike(mask));
    });
  }

  /** Moments for checkpoints: "<name>.adam_m" / "<name>.adam_v" (and "<name>.last_step" for device tables). */
  state(): { readonly name: string; readonly tensor: tf.Variable }[] {
    return this.variables.flatMap(({ name }) => [
      { name: `${name}.adam_m`, tensor: this.m.get(name)! },
      { name: `${name}.adam_v`, tensor: this.v.get(name)! },
      ...(this.lastStep.has(name) ? [{ name: `${name}.last_step`, tensor: this.lastStep.get(name)! }] : []),
    ]);
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values(), ...this.lastStep.values()]) t.dispose();
  }
}
