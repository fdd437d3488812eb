/**
 * Fused expert math over rows read straight from the ExpertTables (no
 * [tokens·h·k, d] gathered tensors, no tfjs reductions over them). Each op is a
 * tf.customGrad whose tfjs inputs are the activations and router weights; the
 * table gradients are added into the tables' sparse row buffers as a side
 * effect of the backward pass. The router weights depend on the query
 * network's variables, so the tape always reaches these ops.
 *
 * Layout: `ids` and `gates` are [tokens, slots] with slots = heads·k, the
 * routing of token t to slot e being ids[t·slots + e] with weight gates[t, e].
 */
import * as tf from "@tensorflow/tfjs";
import type { Activation } from "../../compiler/ir/types.js";
import { scalarActivation } from "./activations.js";
import { customOp, readHost, writeTensor } from "./host-tensor.js";
import type { ExpertTable } from "./sparse-table.js";
import { recordFusedKernel } from "./trace.js";
import { activate } from "../layers/ops.js";

/** PEER: out_t = Σ_e g[t,e] · σ(u_{id}ᵀ x_t) · v_{id}. Returns [tokens, d]. */
export function peerExperts(
  x: tf.Tensor2D,
  gates: tf.Tensor2D,
  ids: Int32Array,
  down: ExpertTable,
  up: ExpertTable,
  act: Activation,
): tf.Tensor2D {
  const [tokens, d] = x.shape;
  const slots = gates.shape[1];
  if (down.cols !== d || up.cols !== d) throw new Error(`expert width ${down.cols}/${up.cols} does not match input width ${d}`);
  if (ids.length !== tokens * slots) throw new Error(`expected ${tokens * slots} expert ids, got ${ids.length}`);
  const sigma = scalarActivation(act);
  recordFusedKernel({ name: "PeerExperts", rows: tokens * slots, width: d, matrixFlops: 4 * tokens * slots * d });
  const op = customOp((xIn: tf.Tensor, gIn: tf.Tensor) => {
    const xs = readHost(xIn).slice();
    const gs = readHost(gIn).slice();
    const pre = new Float32Array(tokens * slots); // u·x, kept for the backward
    const U = down.table;
    const V = up.table;
    const value = writeTensor<tf.Rank.R2>([tokens, d], (out) => {
      for (let t = 0; t < tokens; t++) {
        const xBase = t * d;
        for (let e = 0; e < slots; e++) {
          const n = t * slots + e;
          const row = ids[n] * d;
          const a = dot(U, row, xs, xBase, d);
          pre[n] = a;
          const w = gs[n] * sigma.value(a);
          if (w === 0) continue;
          for (let c = 0; c < d; c++) out[xBase + c] += w * V[row + c];
        }
      }
    });
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        const offU = down.reserveGradRows(ids);
        const offV = up.reserveGradRows(ids);
        const dU = down.gradients;
        const dV = up.gradients;
        const dGates = new Float32Array(tokens * slots);
        const dx = writeTensor<tf.Rank.R2>([tokens, d], (dxOut) => {
          const g = readHost(dy);
          for (let t = 0; t < tokens; t++) {
            const xBase = t * d;
            for (let e = 0; e < slots; e++) {
              const n = t * slots + e;
              const row = ids[n] * d;
              const a = pre[n];
              const z = sigma.value(a);
              // One pass for dz = dyᵀv and dv += g·z·dy, one for du += da·x and dx += da·u.
              const gz = gs[n] * z;
              const ov = offV[n];
              let dz = 0;
              for (let c = 0; c < d; c++) {
                const gy = g[xBase + c];
                dz += gy * V[row + c];
                dV[ov + c] += gz * gy;
              }
              dGates[n] = z * dz;
              const da = gs[n] * dz * sigma.derivative(a);
              if (da === 0) continue;
              const ou = offU[n];
              for (let c = 0; c < d; c++) {
                dU[ou + c] += da * xs[xBase + c];
                dxOut[xBase + c] += da * U[row + c];
              }
            }
          }
        });
        const dg = writeTensor<tf.Rank.R2>([tokens, slots], (out) => out.set(dGates));
        return [dx, dg];
      },
    };
  });
  return op(x, gates) as tf.Tensor2D;
}

/** PKM: out_t = Σ_e g[t,e] · value_{id}. Returns [tokens, valueDim]. */
export function pkmValues(gates: tf.Tensor2D, ids: Int32Array, values: ExpertTable): tf.Tensor2D {
  const [tokens, slots] = gates.shape;
  const dv = values.cols;
  if (ids.length !== tokens * slots) throw new Error(`expected ${tokens * slots} memory ids, got ${ids.length}`);
  recordFusedKernel({ name: "PkmValues", rows: tokens * slots, width: dv, matrixFlops: 2 * tokens * slots * dv });
  const op = customOp((gIn: tf.Tensor) => {
    const gs = readHost(gIn).slice();
    const V = values.table;
    const value = writeTensor<tf.Rank.R2>([tokens, dv], (out) => {
      for (let t = 0; t < tokens; t++) {
        const oBase = t * dv;
        for (let e = 0; e < slots; e++) {
          const n = t * slots + e;
          const w = gs[n];
          const row = ids[n] * dv;
          for (let c = 0; c < dv; c++) out[oBase + c] += w * V[row + c];
        }
      }
    });
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        const offV = values.reserveGradRows(ids);
        const dV = values.gradients;
        return writeTensor<tf.Rank.R2>([tokens, slots], (dGates) => {
          const g = readHost(dy);
          for (let t = 0; t < tokens; t++) {
            const oBase = t * dv;
            for (let e = 0; e < slots; e++) {
              const n = t * slots + e;
              const row = ids[n] * dv;
              const w = gs[n];
              const ov = offV[n];
              let dgate = 0;
              for (let c = 0; c < dv; c++) {
                dgate += g[oBase + c] * V[row + c];
                dV[ov + c] += w * g[oBase + c];
              }
              dGates[n] = dgate;
            }
          }
        });
      },
    };
  });
  return op(gates) as tf.Tensor2D;
}

/** Σ_c a[ai + c]·b[bi + c] with four partial sums (a shorter dependency chain for V8's scalar code). */
function dot(a: Float32Array, ai: number, b: Float32Array, bi: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let c = 0;
  for (; c + 3 < n; c += 4) {
    s0 += a[ai + c] * b[bi + c];
    s1 += a[ai + c + 1] * b[bi + c + 1];
    s2 += a[ai + c + 2] * b[bi + c + 2];
    s3 += a[ai + c + 3] * b[bi + c + 3];
  }
  for (; c < n; c++) s0 += a[ai + c] * b[bi + c];
  return s0 + s1 + s2 + s3;
}

/**
 * PEER experts with the rows gathered into tfjs tensors and the math done by
 * tfjs ops (SIMD on wasm); the gathers' gradients go into the tables' sparse
 * row buffers. Same result as `peerExperts`.
 */
export function peerExpertsGathered(
  x: tf.Tensor2D,
  gates: tf.Tensor2D,
  ids: Int32Array,
  down: ExpertTable,
  up: ExpertTable,
  act: Activation,
): tf.Tensor2D {
  const [tokens, d] = x.shape;
  const slots = gates.shape[1];
  const u = tf.reshape(down.gatherThrough(ids, gates), [tokens, slots, d]);
  const v = tf.reshape(up.gatherThrough(ids, gates), [tokens, slots, d]);
  const z = activate(tf.sum(tf.mul(u, tf.expandDims(x, 1)), 2), act);
  return tf.sum(tf.mul(v, tf.expandDims(tf.mul(gates, z), 2)), 1) as tf.Tensor2D;
}
