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
import { runKernelJob, type KernelJob } from "./kernel-jobs.js";
import { isShared, runSplit, scratch, sharedCopy, sharedFloat32, splitRange, threadsFor } from "./kernel-pool.js";
import type { RowGradientPart } from "./split-backward.js";
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
  const rows = tokens * slots;
  recordFusedKernel({ name: gate ? "PeerGluExperts" : "PeerExperts", rows, width: d, matrixFlops: (gate ? 6 : 4) * rows * d });
  const parts = threadsFor(rows * d, tokens);
  // A shared table has shared gradient scratch too (ExpertTable allocates both by its thread count).
  if (parts > 1 && isShared(down.table, up.table, gate?.table)) {
    return peerExpertsSplit(x, gates, ids, down, up, act, gate, parts);
  }
  const sigma = scalarActivation(act);
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

/**
 * peerExperts over `parts` threads (kernel-pool.ts): the forward and the
 * backward's first pass split by token rows, the row gradients by gradient-slot
 * ranges (split-backward.ts). The same bits as one thread.
 */
function peerExpertsSplit(
  x: tf.Tensor2D, gates: tf.Tensor2D, ids: Int32Array, down: ExpertTable, up: ExpertTable, act: Activation, gate: ExpertTable | null, parts: number,
): tf.Tensor2D {
  const [tokens, d] = x.shape;
  const slots = gates.shape[1];
  const rows = tokens * slots;
  const ranges = splitRange(tokens, parts);
  const G = gate ? gate.table : null;
  const op = customOp((xIn: tf.Tensor, gIn: tf.Tensor) => {
    // Shared copies, kept for the backward (heap views would not survive it, and workers read them).
    const xs = sharedCopy(readHost(xIn));
    const gs = sharedCopy(readHost(gIn));
    const idsShared = sharedCopy(ids);
    const pre = sharedFloat32(rows);
    const preGate = gate ? sharedFloat32(rows) : null;
    const out = new Float32Array(scratch("peer.out", tokens * d * 4), 0, tokens * d).fill(0);
    const tokenRows = (from: number, to: number) => ({
      x: xs.subarray(from * d, to * d), gates: gs.subarray(from * slots, to * slots), ids: idsShared.subarray(from * slots, to * slots),
      pre: pre.subarray(from * slots, to * slots), preGate: preGate ? preGate.subarray(from * slots, to * slots) : null, tokens: to - from,
    });
    const jobs: KernelJob[] = ranges.map(([from, to]) => ({
      kind: "peerForward", act, U: down.table, V: up.table, G, ...tokenRows(from, to), out: out.subarray(from * d, to * d), slots, d,
    }));
    runSplit(jobs, () => runKernelJob(jobs[0]!));
    const value = writeTensor<tf.Rank.R2>([tokens, d], (o) => o.set(out));
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        const dyShared = new Float32Array(scratch("peer.dy", tokens * d * 4), 0, tokens * d);
        dyShared.set(readHost(dy));
        // Offsets are the tables' scratch, valid until their next call: copy each at once.
        const offU = sharedCopy(down.reserveGradRows(ids));
        const offV = sharedCopy(up.reserveGradRows(ids));
        const offG = gate ? sharedCopy(gate.reserveGradRows(ids)) : null;
        const dx = new Float32Array(scratch("peer.dx", tokens * d * 4), 0, tokens * d).fill(0);
        const dGates = new Float32Array(scratch("peer.dGates", rows * 4), 0, rows);
        const coefV = new Float64Array(scratch("peer.coefV", rows * 8), 0, rows);
        const coefU = new Float64Array(scratch("peer.coefU", rows * 8), 0, rows);
        const coefG = gate ? new Float64Array(scratch("peer.coefG", rows * 8), 0, rows) : null;
        const tokenJobs: KernelJob[] = ranges.map(([from, to]) => ({
          kind: "peerTokenBackward", act, U: down.table, V: up.table, G, ...tokenRows(from, to), slots, d,
          dy: dyShared.subarray(from * d, to * d), dx: dx.subarray(from * d, to * d), dGates: dGates.subarray(from * slots, to * slots),
          coefV: coefV.subarray(from * slots, to * slots), coefU: coefU.subarray(from * slots, to * slots),
          coefG: coefG ? coefG.subarray(from * slots, to * slots) : null,
        }));
        runSplit(tokenJobs, () => runKernelJob(tokenJobs[0]!));
        const tables: RowGradientPart[] = [
          { grad: up.gradients, offsets: offV, coef: coefV, src: dyShared },
          { grad: down.gradients, offsets: offU, coef: coefU, src: xs },
          ...(gate && offG && coefG ? [{ grad: gate.gradients, offsets: offG, coef: coefG, src: xs }] : []),
        ];
        splitRowGradients(tables, tokens, slots, d, parts);
        const dxTensor = writeTensor<tf.Rank.R2>([tokens, d], (o) => o.set(dx));
        const dg = writeTensor<tf.Rank.R2>([tokens, slots], (o) => o.set(dGates));
        return [dxTensor, dg];
      },
    };
  });
  return op(x, gates) as tf.Tensor2D;
}

/** Pass 2 of the split backward: the slot-offset space of the tables cut into `parts` ranges, one per thread. */
function splitRowGradients(tables: readonly RowGradientPart[], tokens: number, slots: number, d: number, parts: number): void {
  let end = 0;
  for (const t of tables) for (let n = 0; n < t.offsets.length; n++) if (t.offsets[n]! + d > end) end = t.offsets[n]! + d;
  const slotCount = end / d;
  const jobs: KernelJob[] = splitRange(slotCount, Math.min(parts, slotCount)).map(([from, to]) => ({
    kind: "rowGradients", parts: tables, tokens, slots, d, lo: from * d, hi: to * d,
  }));
  runSplit(jobs, () => runKernelJob(jobs[0]!));
}

/** PKM: out_t = Σ_e g[t,e] · value_{id}. Returns [tokens, valueDim]. */
export function pkmValues(gates: tf.Tensor2D, ids: Int32Array, values: ExpertTable): tf.Tensor2D {
  const [tokens, slots] = gates.shape;
  const dv = values.cols;
  if (ids.length !== tokens * slots) throw new Error(`expected ${tokens * slots} memory ids, got ${ids.length}`);
  recordFusedKernel({ name: "PkmValues", rows: tokens * slots, width: dv, matrixFlops: 2 * tokens * slots * dv });
  const parts = threadsFor(tokens * slots * dv, tokens);
  if (parts > 1 && isShared(values.table)) return pkmValuesSplit(gates, ids, values, parts);
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

/** pkmValues over `parts` threads, as peerExpertsSplit. */
function pkmValuesSplit(gates: tf.Tensor2D, ids: Int32Array, values: ExpertTable, parts: number): tf.Tensor2D {
  const [tokens, slots] = gates.shape;
  const dv = values.cols;
  const ranges = splitRange(tokens, parts);
  const op = customOp((gIn: tf.Tensor) => {
    const gs = sharedCopy(readHost(gIn));
    const idsShared = sharedCopy(ids);
    const out = new Float32Array(scratch("pkm.out", tokens * dv * 4), 0, tokens * dv).fill(0);
    const jobs: KernelJob[] = ranges.map(([from, to]) => ({
      kind: "pkmForward", V: values.table, gates: gs.subarray(from * slots, to * slots), ids: idsShared.subarray(from * slots, to * slots),
      out: out.subarray(from * dv, to * dv), tokens: to - from, slots, d: dv,
    }));
    runSplit(jobs, () => runKernelJob(jobs[0]!));
    const value = writeTensor<tf.Rank.R2>([tokens, dv], (o) => o.set(out));
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        const dyShared = new Float32Array(scratch("pkm.dy", tokens * dv * 4), 0, tokens * dv);
        dyShared.set(readHost(dy));
        const offV = sharedCopy(values.reserveGradRows(ids));
        const dGates = new Float32Array(scratch("pkm.dGates", tokens * slots * 4), 0, tokens * slots);
        const tokenJobs: KernelJob[] = ranges.map(([from, to]) => ({
          kind: "pkmTokenBackward", V: values.table, ids: idsShared.subarray(from * slots, to * slots), dy: dyShared.subarray(from * dv, to * dv),
          dGates: dGates.subarray(from * slots, to * slots), tokens: to - from, slots, d: dv,
        }));
        runSplit(tokenJobs, () => runKernelJob(tokenJobs[0]!));
        splitRowGradients([{ grad: values.gradients, offsets: offV, coef: gs, src: dyShared }], tokens, slots, dv, parts);
        return writeTensor<tf.Rank.R2>([tokens, slots], (o) => o.set(dGates));
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
