/**
 * The fused expert backward (fused-loops.ts) in two passes, so that it can be
 * split over threads without races and give the same bits as one thread:
 *
 * 1. per token (split by token rows): dz = dyᵀv, d loss/d g, the per-slot
 *    coefficients of the row gradients (stored in double precision, exactly as
 *    the fused loop holds them) and dx. Tokens are independent.
 * 2. per gradient row (split by ranges of gradient-slot offsets): each thread
 *    scans every slot in token order and adds only into the rows of its range,
 *    coefficient × x (or dy). Every row receives its additions in the same order
 *    as in the fused loop, so no two threads write one row and the sums match.
 *
 * The arithmetic mirrors peerBackwardLoop, peerGluBackwardLoop and
 * pkmBackwardLoop term for term (the same blocks of four slots, the same
 * grouping of the dx sum); test/runtime/experts-threads.test.ts checks that
 * the two agree bit for bit.
 */
import type { ScalarActivation } from "./activations.js";

/** Pass 1 of the PEER backward over `tokens` rows (arrays are that range's views; tables whole). */
export interface PeerTokenBackward {
  readonly U: Float32Array;
  readonly V: Float32Array;
  readonly x: Float32Array;
  readonly gates: Float32Array;
  readonly ids: Int32Array;
  readonly pre: Float32Array;
  readonly dy: Float32Array;
  /** Written: dx (zeroed by the caller), d loss/d g, and the v and u row coefficients g·σ(a), g·dz·σ'(a). */
  readonly dx: Float32Array;
  readonly dGates: Float32Array;
  readonly coefV: Float64Array;
  readonly coefU: Float64Array;
  readonly tokens: number;
  readonly slots: number;
  readonly d: number;
  readonly sigma: ScalarActivation;
}

export function peerTokenBackwardLoop(args: PeerTokenBackward): void {
  const { U, V, gates, ids, pre, dy, dx, dGates, coefV, coefU, tokens, slots, d, sigma } = args;
  for (let t = 0; t < tokens; t++) {
    const xb = t * d;
    let e = 0;
    for (; e + 3 < slots; e += 4) {
      const n = t * slots + e;
      const r0 = ids[n] * d, r1 = ids[n + 1] * d, r2 = ids[n + 2] * d, r3 = ids[n + 3] * d;
      const z0 = sigma.value(pre[n]), z1 = sigma.value(pre[n + 1]), z2 = sigma.value(pre[n + 2]), z3 = sigma.value(pre[n + 3]);
      let dz0 = 0, dz1 = 0, dz2 = 0, dz3 = 0;
      for (let c = 0; c < d; c++) {
        const gy = dy[xb + c];
        dz0 += gy * V[r0 + c];
        dz1 += gy * V[r1 + c];
        dz2 += gy * V[r2 + c];
        dz3 += gy * V[r3 + c];
      }
      coefV[n] = gates[n] * z0;
      coefV[n + 1] = gates[n + 1] * z1;
      coefV[n + 2] = gates[n + 2] * z2;
      coefV[n + 3] = gates[n + 3] * z3;
      dGates[n] = z0 * dz0;
      dGates[n + 1] = z1 * dz1;
      dGates[n + 2] = z2 * dz2;
      dGates[n + 3] = z3 * dz3;
      const da0 = gates[n] * dz0 * sigma.derivative(pre[n]);
      const da1 = gates[n + 1] * dz1 * sigma.derivative(pre[n + 1]);
      const da2 = gates[n + 2] * dz2 * sigma.derivative(pre[n + 2]);
      const da3 = gates[n + 3] * dz3 * sigma.derivative(pre[n + 3]);
      coefU[n] = da0;
      coefU[n + 1] = da1;
      coefU[n + 2] = da2;
      coefU[n + 3] = da3;
      for (let c = 0; c < d; c++) {
        dx[xb + c] += da0 * U[r0 + c] + da1 * U[r1 + c] + da2 * U[r2 + c] + da3 * U[r3 + c];
      }
    }
    for (; e < slots; e++) {
      const n = t * slots + e;
      const r = ids[n] * d;
      const z = sigma.value(pre[n]);
      let dz = 0;
      for (let c = 0; c < d; c++) dz += dy[xb + c] * V[r + c];
      coefV[n] = gates[n] * z;
      dGates[n] = z * dz;
      const da = gates[n] * dz * sigma.derivative(pre[n]);
      coefU[n] = da;
      for (let c = 0; c < d; c++) dx[xb + c] += da * U[r + c];
    }
  }
}

/** Pass 1 of the GLU backward: as PEER plus the gate rows G and their coefficient g·dz·a·σ'(b). */
export interface PeerGluTokenBackward extends PeerTokenBackward {
  readonly G: Float32Array;
  readonly preGate: Float32Array;
  readonly coefG: Float64Array;
}

export function peerGluTokenBackwardLoop(args: PeerGluTokenBackward): void {
  const { U, V, G, gates, ids, pre, preGate, dy, dx, dGates, coefV, coefU, coefG, tokens, slots, d, sigma } = args;
  for (let t = 0; t < tokens; t++) {
    const xb = t * d;
    for (let e = 0; e < slots; e++) {
      const n = t * slots + e;
      const r = ids[n] * d;
      const a = pre[n];
      const b = preGate[n];
      const s = sigma.value(b);
      const z = s * a;
      let dz = 0;
      for (let c = 0; c < d; c++) dz += dy[xb + c] * V[r + c];
      coefV[n] = gates[n] * z;
      dGates[n] = z * dz;
      const h = gates[n] * dz;
      const da = h * s;
      const db = h * a * sigma.derivative(b);
      coefU[n] = da;
      coefG[n] = db;
      for (let c = 0; c < d; c++) dx[xb + c] += da * U[r + c] + db * G[r + c];
    }
  }
}

/** Pass 1 of the PKM backward: dGates[t,e] = dyᵀV_id (the row coefficient is the gate itself). */
export function pkmTokenBackwardLoop(V: Float32Array, ids: Int32Array, dy: Float32Array, dGates: Float32Array, tokens: number, slots: number, dv: number): void {
  for (let t = 0; t < tokens; t++) {
    const ob = t * dv;
    for (let e = 0; e < slots; e++) {
      const n = t * slots + e;
      const r = ids[n] * dv;
      let s = 0;
      for (let c = 0; c < dv; c++) s += dy[ob + c] * V[r + c];
      dGates[n] = s;
    }
  }
}

/** Pass 2 for one table: grad[off[n] + c] += coef[n] · src[t·d + c] for the slots whose offset is in [lo, hi). */
export interface RowGradientPart {
  readonly grad: Float32Array;
  readonly offsets: Int32Array;
  readonly coef: Float64Array | Float32Array;
  /** x (u and gate rows) or dy (v rows, PKM values), [tokens, d]. */
  readonly src: Float32Array;
}

export function addRowGradients(part: RowGradientPart, tokens: number, slots: number, d: number, lo: number, hi: number): void {
  const { grad, offsets, coef, src } = part;
  // A token's slots in range, taken four at a time so each src value is loaded once per four rows
  // (as in the fused loops). Slots stay in ascending order, so every row gets its additions in order.
  const mine = new Int32Array(slots);
  for (let t = 0; t < tokens; t++) {
    const sb = t * d;
    let count = 0;
    for (let e = 0; e < slots; e++) {
      const o = offsets[t * slots + e];
      if (o >= lo && o < hi) mine[count++] = t * slots + e;
    }
    let k = 0;
    for (; k + 3 < count; k += 4) {
      const n0 = mine[k], n1 = mine[k + 1], n2 = mine[k + 2], n3 = mine[k + 3];
      const o0 = offsets[n0], o1 = offsets[n1], o2 = offsets[n2], o3 = offsets[n3];
      const w0 = coef[n0], w1 = coef[n1], w2 = coef[n2], w3 = coef[n3];
      for (let c = 0; c < d; c++) {
        const v = src[sb + c];
        grad[o0 + c] += w0 * v;
        grad[o1 + c] += w1 * v;
        grad[o2 + c] += w2 * v;
        grad[o3 + c] += w3 * v;
      }
    }
    for (; k < count; k++) {
      const n = mine[k];
      const o = offsets[n];
      const w = coef[n];
      for (let c = 0; c < d; c++) grad[o + c] += w * src[sb + c];
    }
  }
}
