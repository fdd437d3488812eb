/**
 * Device implementation shared by PEER and PKM (kinds/peer/device.ts,
 * kinds/pkm/device.ts): the expert tables as tf.Variables, sharded below the
 * device's storage-binding limit, and product-key routing as tfjs ops, so a
 * step keeps tables, optimizer state, scores, top-k, gathers and expert math
 * on the device and never reads back to the host.
 *
 * Routing (same maths as runtime/experts/router.ts, scoreGradient "keys"):
 *   q = norm(x·W)                                  [T, h·dk]
 *   s_p = q̄_{h,p}·K_p on a detached q              [T·h, √N], p = 1, 2
 *   (v_p, i_p) = top-k'(s_p); c = v_1 ⊕ v_2        [T·h, k'²]
 *   (_, j) = top-k(c); first = i_1[j / k'], second = i_2[j mod k']
 *   id = first·√N + second
 *   sel = q_{h,1}·K_1[:, first] + q_{h,2}·K_2[:, second]   (differentiable)
 *   g = softmax(sel) per head (or sigmoid)
 * With k' ≥ k the k'² candidates contain the exact top-k over all N keys.
 * Ties may resolve differently from the host search (tfjs topk keeps the lower
 * index; the host breaks towards the lower sub-key index then id).
 */
import * as tf from "@tensorflow/tfjs";
import type { ScoreFn } from "../../ir/types.js";
import { inDeviceScope, labelBackward, storageBindingLimit } from "../../runtime/backend/webgpu.js";
import type { QueryNet } from "../../runtime/experts/query-net.js";
import type { ForwardContext, NamedVariable } from "../../runtime/layers/layer.js";
import { detach } from "../../runtime/layers/ops.js";
import { kernelTopkIds, peerKernelsAvailable } from "../peer/device-kernels.js";

export interface DeviceLayerInit {
  /** Uniform [0, 1), seeded by (model seed, layer path): the same stream as the host layer. */
  readonly rng: () => number;
  readonly dModel: number;
  /** Largest shard in bytes; default: the device's maxStorageBufferBindingSize (tests lower it). */
  readonly maxShardBytes?: number;
  /**
   * "kernels" (default): the WGSL kernels of kinds/peer/wgsl.ts on webgpu where
   * the layer's tables are unsharded; "ops": plain tfjs ops everywhere (the
   * reference the kernels are tested against, and the benchmark's baseline).
   */
  readonly expertPath?: "kernels" | "ops";
}

/**
 * An expert table [rows, cols] as tf.Variables, split by rows into shards of at
 * most `maxShardBytes` each (one shard, named exactly like the host table, when
 * it fits). Each shard has a row mask that the layer's backward sets for the
 * rows it retrieved (markRetrieved); AdamW updates only those rows, lazily
 * (docs/gpu.md, "Updates").
 */
export class DeviceTable {
  readonly shards: tf.Variable[] = [];
  /** Per shard, [rows] float32: 1 where a backward since the last update retrieved the row. */
  readonly masks: tf.Variable[] = [];
  readonly rowsPerShard: number;
  readonly named: NamedVariable[] = [];

  constructor(
    readonly name: string,
    readonly rows: number,
    readonly cols: number,
    values: Float32Array,
    maxShardBytes: number,
  ) {
    if (values.length !== rows * cols) throw new Error(`${name}: ${values.length} values for a [${rows}, ${cols}] table`);
    const fit = Math.floor(maxShardBytes / (cols * 4));
    if (fit < 1) throw new Error(`${name}: one row of ${cols} floats exceeds the shard limit of ${maxShardBytes} bytes`);
    this.rowsPerShard = Math.min(rows, fit);
    const count = Math.ceil(rows / this.rowsPerShard);
    for (let s = 0; s < count; s++) {
      const start = s * this.rowsPerShard;
      const end = Math.min(rows, start + this.rowsPerShard);
      const variable = tf.variable(tf.tensor2d(values.subarray(start * cols, end * cols), [end - start, cols]), true);
      const rowMask = tf.variable(tf.zeros([end - start]), false);
      this.shards.push(variable);
      this.masks.push(rowMask);
      // Tables are never weight-decayed unless decay_all (the host ExpertTable's rule).
      this.named.push({ name: count === 1 ? name : `${name}.shard${s}`, variable, noDecay: true, lrGroup: "table", rowMask });
    }
  }

  get shardCount(): number {
    return this.shards.length;
  }

  /** rows[ids]: [n, cols]. Differentiable into the shards (tf.gather's gradient). */
  gather(ids: tf.Tensor1D): tf.Tensor2D {
    if (this.shards.length === 1) return tf.gather(this.shards[0]!, ids) as tf.Tensor2D;
    return tf.tidy(() => {
      const r = this.rowsPerShard;
      const shardOf = tf.floorDiv(ids, tf.scalar(r, "int32"));
      let out: tf.Tensor2D | null = null;
      for (let s = 0; s < this.shards.length; s++) {
        const shard = this.shards[s]!;
        const local = tf.clipByValue(tf.sub(ids, tf.scalar(s * r, "int32")), 0, shard.shape[0]! - 1) as tf.Tensor1D;
        const mask = tf.expandDims(tf.cast(tf.equal(shardOf, tf.scalar(s, "int32")), "float32"), 1);
        const part = tf.mul(tf.gather(shard, local), mask) as tf.Tensor2D;
        out = out === null ? part : (tf.add(out, part) as tf.Tensor2D);
      }
      return out!;
    });
  }

  /** Sets the row masks of the rows `ids` [n] int32 names (on the device: no host read). */
  markRetrieved(ids: tf.Tensor1D): void {
    tf.tidy(() => {
      const ones = tf.onesLike(ids).asType("float32");
      for (let s = 0; s < this.shards.length; s++) {
        const mask = this.masks[s]!;
        const rows = mask.shape[0]!;
        const local = tf.sub(ids, tf.scalar(s * this.rowsPerShard, "int32"));
        const inside = tf.cast(tf.logicalAnd(tf.greaterEqual(local, 0), tf.less(local, rows)), "float32");
        // Counts of small integers: exact in float32 whatever order the backend adds them in.
        const hits = tf.unsortedSegmentSum(tf.mul(ones, inside), tf.clipByValue(local, 0, rows - 1) as tf.Tensor1D, rows);
        mask.assign(tf.maximum(mask, tf.cast(tf.greater(hits, 0), "float32")));
      }
    });
  }

  /** The whole table on the host (tests, export): one read per shard. */
  async read(): Promise<Float32Array> {
    const out = new Float32Array(this.rows * this.cols);
    for (let s = 0; s < this.shards.length; s++) out.set(await this.shards[s]!.data() as Float32Array, s * this.rowsPerShard * this.cols);
    return out;
  }

  dispose(): void {
    for (const v of [...this.shards, ...this.masks]) v.dispose();
  }
}

export function shardLimit(init: DeviceLayerInit): number {
  const device = storageBindingLimit();
  const wanted = init.maxShardBytes ?? device;
  return Math.min(wanted, device);
}

export interface DeviceRouterSpec {
  readonly path: string;
  readonly heads: number;
  readonly topk: number;
  readonly subTopk: number;
  readonly subKeys: number;
  readonly keyDim: number;
  readonly scores: ScoreFn;
  readonly dModel: number;
  /** Use the WGSL top-k kernel (webgpu only). */
  readonly kernels: boolean;
}

export interface DeviceRouting {
  /** Expert ids [T·h·k] (int32, on the device), token-major, then head, then rank. */
  readonly ids: tf.Tensor1D;
  /** Router weights [T, h·k], same order. */
  readonly gates: tf.Tensor2D;
}

/** Product-key top-k on the device; ids and candidate positions carry no gradient. */
export function deviceTopk(
  scores1: tf.Tensor2D,
  scores2: tf.Tensor2D,
  subKeys: number,
  subTopk: number,
  topk: number,
): { first: tf.Tensor2D; second: tf.Tensor2D; ids: tf.Tensor2D; scores: tf.Tensor2D } {
  return tf.tidy(() => {
    const rows = scores1.shape[0];
    const a = tf.topk(scores1, subTopk);
    const b = tf.topk(scores2, subTopk);
    const candidates = tf.reshape(tf.add(tf.expandDims(a.values, 2), tf.expandDims(b.values, 1)), [rows, subTopk * subTopk]);
    const best = tf.topk(candidates, topk);
    const k = tf.scalar(subTopk, "int32");
    const rankA = tf.floorDiv(best.indices, k);
    const rankB = tf.sub(best.indices, tf.mul(rankA, k));
    const first = tf.gather(a.indices, rankA, 1, 1) as tf.Tensor2D;
    const second = tf.gather(b.indices, rankB, 1, 1) as tf.Tensor2D;
    const ids = tf.add(tf.mul(first, tf.scalar(subKeys, "int32")), second) as tf.Tensor2D;
    return { first, second, ids, scores: best.values as tf.Tensor2D };
  });
}

/**
 * Selected scores recomputed from q and the selected sub-keys only:
 * sel[r, c] = q_{r,1}·K1[:, first] + q_{r,2}·K2[:, second]; keySets[set][half] [dk/2, √N].
 */
function selectedScores(q: tf.Tensor2D, keySets: readonly (readonly tf.Tensor[])[], first: tf.Tensor2D, second: tf.Tensor2D, spec: DeviceRouterSpec): tf.Tensor2D {
  const { heads, keyDim, subKeys, topk } = spec;
  const half = keyDim / 2;
  const rows = q.shape[0] * heads;
  const qRows = tf.reshape(q, [rows, keyDim]);
  // Per-head keys: key rows of all heads stacked, offset by head·√N (row r is head r mod h).
  const offset = keySets.length === 1 ? null : tf.mul(tf.expandDims(tf.mod(tf.range(0, rows, 1, "int32"), tf.scalar(heads, "int32")), 1), tf.scalar(subKeys, "int32"));
  const part = (p: 0 | 1, index: tf.Tensor2D): tf.Tensor2D => {
    const keyRows = keySets.length === 1 ? tf.transpose(keySets[0]![p]!) : tf.concat(keySets.map((set) => tf.transpose(set[p]!)), 0);
    const at = offset === null ? index : tf.add(index, offset);
    const selected = tf.reshape(tf.gather(keyRows, tf.reshape(at, [rows * topk])), [rows, topk, half]);
    const qHalf = tf.expandDims(tf.slice(qRows, [0, p * half], [rows, half]), 1);
    return tf.sum(tf.mul(selected, qHalf), 2) as tf.Tensor2D;
  };
  return tf.add(part(0, first), part(1, second));
}

/** The WGSL top-k kernel's ids, split into the two sub-key indices. */
function kernelHits(s1: tf.Tensor2D, s2: tf.Tensor2D, spec: DeviceRouterSpec): { first: tf.Tensor2D; second: tf.Tensor2D; ids: tf.Tensor2D; scores: tf.Tensor2D } {
  const { subKeys, subTopk, topk, heads, keyDim, dModel } = spec;
  const ids = kernelTopkIds(s1, s2, { subKeys, subTopk, topk, heads, keyDim, dModel });
  return tf.tidy(() => {
    const first = tf.floorDiv(ids, tf.scalar(subKeys, "int32")) as tf.Tensor2D;
    const second = tf.sub(ids, tf.mul(first, tf.scalar(subKeys, "int32"))) as tf.Tensor2D;
    return { first, second, ids: tf.keep(ids), scores: tf.zeros([1, 1]) as tf.Tensor2D };
  });
}

export function deviceRoute(spec: DeviceRouterSpec, query: QueryNet, x: tf.Tensor2D, ctx: ForwardContext): DeviceRouting {
  const { heads, topk, subTopk, subKeys } = spec;
  const tokens = x.shape[0];
  const q = query.queries(x, ctx.training);
  const frozen = detach(q);
  const { scores1, scores2 } = query.subKeyScores(frozen);
  // The scores depend on the sub-key variables: choose on detached aliases so no
  // gradient path runs through top-k (it has none) or the integer ids.
  const s1 = detach(scores1);
  const s2 = detach(scores2);
  const hits = spec.kernels && peerKernelsAvailable() ? kernelHits(s1, s2, spec) : deviceTopk(s1, s2, subKeys, subTopk, topk);
  tf.dispose([frozen, scores1, scores2, s1, s2, hits.scores]);
  const selected = selectedScores(q, query.keySets, hits.first, hits.second, spec);
  const weights = spec.scores === "softmax" ? tf.softmax(selected) : tf.sigmoid(selected);
  const gates = tf.reshape(weights, [tokens, heads * topk]) as tf.Tensor2D;
  const ids = tf.reshape(hits.ids, [tokens * heads * topk]) as tf.Tensor1D;
  tf.dispose([hits.first, hits.second]);
  return { ids, gates };
}

/**
 * Identity on a layer's output whose gradient marks the rows `ids` retrieved in
 * `tables` (their row masks): only a backward pass marks rows, as only a
 * backward gives the host tables row gradients, so forward-only passes
 * (evaluation, BatchNorm statistics) leave the update untouched.
 */
export function markRetrievedOnBackward(out: tf.Tensor, ids: tf.Tensor1D, tables: readonly DeviceTable[]): tf.Tensor {
  const body = (value: tf.Tensor, save: (tensors: tf.Tensor[]) => void) => {
    save([ids]);
    return {
      value: tf.clone(value),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        for (const table of tables) table.markRetrieved(saved[0] as tf.Tensor1D);
        return dy;
      },
    };
  };
  const mark = tf.customGrad(body as unknown as Parameters<typeof tf.customGrad>[0]);
  return mark(out);
}

/** Runs a device layer's forward labelled with its path (forward and backward device errors name it). */
export function deviceApply(path: string, x: tf.Tensor, body: (x: tf.Tensor) => tf.Tensor): tf.Tensor {
  return inDeviceScope(path, () => {
    const input = labelBackward(x, `the backward pass below ${path}`);
    return labelBackward(body(input), `${path} (backward)`);
  });
}
