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
import type { Activation } from "../../ir/types.js";
import { scalarActivation } from "./activations.js";
import {
  peerBackwardLoop,
  peerForwardLoop,
  peerGluBackwardLoop,
  peerGluForwardLoop,
  pkmBackwardLoop,
  pkmForwardLoop,
  type PeerForward,
  type PeerGluForward,
} from "./fused-loops.js";
import { customOp, readHost, writeTensor } from "./host-tensor.js";
import type { ExpertTable } from "./sparse-table.js";
import { recordFusedKernel } from "./trace.js";
import { activate } from "../layers/ops.js";

/**
 * PEER: out_t = Σ_e g[t,e] · σ(u_{id}ᵀ x_t) · v_{id}; with a `gate` table (GLU
 * experts) out_t = Σ_e g[t,e] · σ(g_{id}ᵀ x_t) · (u_{id}ᵀ x_t) · v_{id}.
 * Returns [tokens, d].
 */
export function peerExperts(
  x: tf.Tensor2D,
  gates: tf.Tensor2D,
  ids: Int32Array,
  down: ExpertTable,
  up: ExpertTable,
  act: Activation,
  gate: ExpertTable | null = null,
): tf.Tensor2D {
  const [tokens, d] = x.shape;
  const slots = gates.shape[1];
  if (down.cols !== d || up.cols !== d || (gate !== null && gate.cols !== d)) {
    throw new Error(`expert width ${down.cols}/${up.cols}${gate ? `/${gate.cols}` : ""} does not match input width ${d}`);
  }
  if (ids.length !== tokens * slots) throw new Error(`expected ${tokens * slots} expert ids, got ${ids.length}`);
  const sigma = scalarActivation(act);
  const rows = tokens * slots;
  recordFusedKernel({ name: gate ? "PeerGluExperts" : "PeerExperts", rows, width: d, matrixFlops: (gate ? 6 : 4) * rows * d });
  const op = customOp((xIn: tf.Tensor, gIn: tf.Tensor) => {
    // Copies: the backward needs them after other tensors (and heap growth) happened.
    const xs = readHost(xIn).slice();
    const gs = readHost(gIn).slice();
    const pre = new Float32Array(rows); // u·x, kept for the backward
    const loop: PeerForward = { U: down.table, V: up.table, x: xs, gates: gs, ids, pre, tokens, slots, d, sigma };
    const glu: PeerGluForward | null = gate ? { ...loop, G: gate.table, preGate: new Float32Array(rows) } : null;
    const value = writeTensor<tf.Rank.R2>([tokens, d], (out) => (glu ? peerGluForwardLoop(glu, out) : peerForwardLoop(loop, out)));
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        const offU = down.reserveGradRows(ids);
        const offV = up.reserveGradRows(ids);
        const offG = gate ? gate.reserveGradRows(ids) : null;
        const dGates = new Float32Array(rows);
        const dx = writeTensor<tf.Rank.R2>([tokens, d], (dxOut) => {
          const back = { ...loop, dy: readHost(dy), dU: down.gradients, dV: up.gradients, offU, offV, dx: dxOut, dGates };
          if (glu && gate && offG) peerGluBackwardLoop({ ...back, G: glu.G, preGate: glu.preGate, dG: gate.gradients, offG });
          else peerBackwardLoop(back);
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
    const value = writeTensor<tf.Rank.R2>([tokens, dv], (out) => pkmForwardLoop(values.table, gs, ids, out, tokens, slots, dv));
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        const offV = values.reserveGradRows(ids);
        return writeTensor<tf.Rank.R2>([tokens, slots], (dGates) =>
          pkmBackwardLoop(values.table, gs, ids, readHost(dy), values.gradients, offV, dGates, tokens, slots, dv),
        );
      },
    };
  });
  return op(gates) as tf.Tensor2D;
}

/**
 * PEER experts with the rows gathered into tfjs tensors and the math done by
 * tfjs ops (SIMD on wasm); the gathers' gradients go into the tables' sparse
 * row buffers. Same result as `peerExperts` (GLU experts with a `gate` table too).
 */
export function peerExpertsGathered(
  x: tf.Tensor2D,
  gates: tf.Tensor2D,
  ids: Int32Array,
  down: ExpertTable,
  up: ExpertTable,
  act: Activation,
  gate: ExpertTable | null = null,
): tf.Tensor2D {
  const [tokens, d] = x.shape;
  const slots = gates.shape[1];
  const xe = tf.expandDims(x, 1);
  const u = tf.reshape(down.gatherThrough(ids, gates), [tokens, slots, d]);
  const v = tf.reshape(up.gatherThrough(ids, gates), [tokens, slots, d]);
  const a = tf.sum(tf.mul(u, xe), 2);
  let z: tf.Tensor;
  if (gate) {
    const g = tf.reshape(gate.gatherThrough(ids, gates), [tokens, slots, d]);
    z = tf.mul(activate(tf.sum(tf.mul(g, xe), 2), act), a);
  } else {
    z = activate(a, act);
  }
  return tf.sum(tf.mul(v, tf.expandDims(tf.mul(gates, z), 2)), 1) as tf.Tensor2D;
}
