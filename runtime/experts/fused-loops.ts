/**
 * The inner loops of the fused expert kernels (expert-kernels.ts), over plain
 * Float32Arrays and no tfjs. They are module-level functions taking one typed
 * argument (PeerForward, PeerBackward) rather than closures inside the custom
 * ops, and copy its fields into locals first: V8 then keeps the arrays and
 * sizes in registers instead of reloading them from an object or closure
 * context on every element.
 *
 * Each token's slots are processed four at a time ("blocked"): one pass over
 * the d columns reads x (or dy) once for four expert rows, and adds the four
 * rows' contributions to the output row with a single load and store. The JS
 * code is scalar (no SIMD), so fewer typed-array loads and stores per
 * multiply-add is what makes it faster; sums run in double precision.
 * Duplicate ids inside a block are safe: each += is a separate read-modify-write.
 *
 * Layout as in expert-kernels.ts: ids, gates and pre are [tokens, slots];
 * x, out, dy and dx are [tokens, d]; U, V are the tables (row id at id·d);
 * dU, dV the tables' gradient buffers addressed by per-slot offsets.
 */
import type { ScalarActivation } from "./activations.js";

/** What the PEER forward loop reads and writes. */
export interface PeerForward {
  /** Input rows u (row id at id·d). */
  readonly U: Float32Array;
  /** Output rows v. */
  readonly V: Float32Array;
  /** x [tokens, d]. */
  readonly x: Float32Array;
  /** Router weights g [tokens, slots]. */
  readonly gates: Float32Array;
  /** Expert ids [tokens, slots]. */
  readonly ids: Int32Array;
  /** Written by the forward, read by the backward: u_idᵀx [tokens, slots]. */
  readonly pre: Float32Array;
  readonly tokens: number;
  readonly slots: number;
  readonly d: number;
  readonly sigma: ScalarActivation;
}

/** What the PEER backward loop reads (the forward's arrays and dy) and accumulates into. */
export interface PeerBackward extends PeerForward {
  /** Upstream gradient [tokens, d]. */
  readonly dy: Float32Array;
  /** Gradient buffers of the u and v tables, slot n's row at offU[n] / offV[n]. */
  readonly dU: Float32Array;
  readonly dV: Float32Array;
  readonly offU: Int32Array;
  readonly offV: Int32Array;
  /** dx [tokens, d], zeroed by the caller. */
  readonly dx: Float32Array;
  /** Written: d loss / d g [tokens, slots]. */
  readonly dGates: Float32Array;
}

/** out_t += Σ_e g[t,e]·σ(U_idᵀ x_t)·V_id; pre[t,e] = U_idᵀ x_t. `out` must start zeroed. */
export function peerForwardLoop(args: PeerForward, out: Float32Array): void {
  const { U, V, x, gates, ids, pre, tokens, slots, d, sigma } = args;
  for (let t = 0; t < tokens; t++) {
    const xb = t * d;
    let e = 0;
    for (; e + 3 < slots; e += 4) {
      const n = t * slots + e;
      const r0 = ids[n] * d, r1 = ids[n + 1] * d, r2 = ids[n + 2] * d, r3 = ids[n + 3] * d;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (let c = 0; c < d; c++) {
        const xc = x[xb + c];
        a0 += U[r0 + c] * xc;
        a1 += U[r1 + c] * xc;
        a2 += U[r2 + c] * xc;
        a3 += U[r3 + c] * xc;
      }
      pre[n] = a0;
      pre[n + 1] = a1;
      pre[n + 2] = a2;
      pre[n + 3] = a3;
      // Weights from the float32-rounded pre-activations, as the backward sees them.
      const w0 = gates[n] * sigma.value(pre[n]);
      const w1 = gates[n + 1] * sigma.value(pre[n + 1]);
      const w2 = gates[n + 2] * sigma.value(pre[n + 2]);
      const w3 = gates[n + 3] * sigma.value(pre[n + 3]);
      for (let c = 0; c < d; c++) {
        out[xb + c] += w0 * V[r0 + c] + w1 * V[r1 + c] + w2 * V[r2 + c] + w3 * V[r3 + c];
      }
    }
    for (; e < slots; e++) {
      const n = t * slots + e;
      const r = ids[n] * d;
      let a = 0;
      for (let c = 0; c < d; c++) a += U[r + c] * x[xb + c];
      pre[n] = a;
      const w = gates[n] * sigma.value(pre[n]);
      for (let c = 0; c < d; c++) out[xb + c] += w * V[r + c];
    }
  }
}

/**
 * Backward of peerForwardLoop for upstream gradient dy: adds into dU, dV (at
 * the slot offsets offU, offV) and dx (zeroed by the caller), writes dGates.
 */
export function peerBackwardLoop(args: PeerBackward): void {
  const { U, V, x, gates, ids, pre, dy, dU, dV, offU, offV, dx, dGates, tokens, slots, d, sigma } = args;
  for (let t = 0; t < tokens; t++) {
    const xb = t * d;
    let e = 0;
    for (; e + 3 < slots; e += 4) {
      const n = t * slots + e;
      const r0 = ids[n] * d, r1 = ids[n + 1] * d, r2 = ids[n + 2] * d, r3 = ids[n + 3] * d;
      const z0 = sigma.value(pre[n]), z1 = sigma.value(pre[n + 1]), z2 = sigma.value(pre[n + 2]), z3 = sigma.value(pre[n + 3]);
      const gz0 = gates[n] * z0, gz1 = gates[n + 1] * z1, gz2 = gates[n + 2] * z2, gz3 = gates[n + 3] * z3;
      const v0 = offV[n], v1 = offV[n + 1], v2 = offV[n + 2], v3 = offV[n + 3];
      // dz = dyᵀv and dv += g·z·dy in one pass over dy.
      let dz0 = 0, dz1 = 0, dz2 = 0, dz3 = 0;
      for (let c = 0; c < d; c++) {
        const gy = dy[xb + c];
        dz0 += gy * V[r0 + c];
        dz1 += gy * V[r1 + c];
        dz2 += gy * V[r2 + c];
        dz3 += gy * V[r3 + c];
        dV[v0 + c] += gz0 * gy;
        dV[v1 + c] += gz1 * gy;
        dV[v2 + c] += gz2 * gy;
        dV[v3 + c] += gz3 * gy;
      }
      dGates[n] = z0 * dz0;
      dGates[n + 1] = z1 * dz1;
      dGates[n + 2] = z2 * dz2;
      dGates[n + 3] = z3 * dz3;
      const da0 = gates[n] * dz0 * sigma.derivative(pre[n]);
      const da1 = gates[n + 1] * dz1 * sigma.derivative(pre[n + 1]);
      const da2 = gates[n + 2] * dz2 * sigma.derivative(pre[n + 2]);
      const da3 = gates[n + 3] * dz3 * sigma.derivative(pre[n + 3]);
      const u0 = offU[n], u1 = offU[n + 1], u2 = offU[n + 2], u3 = offU[n + 3];
      // du += da·x and dx += da·u in one pass over x.
      for (let c = 0; c < d; c++) {
        const xc = x[xb + c];
        dU[u0 + c] += da0 * xc;
        dU[u1 + c] += da1 * xc;
        dU[u2 + c] += da2 * xc;
        dU[u3 + c] += da3 * xc;
        dx[xb + c] += da0 * U[r0 + c] + da1 * U[r1 + c] + da2 * U[r2 + c] + da3 * U[r3 + c];
      }
    }
    for (; e < slots; e++) {
      const n = t * slots + e;
      const r = ids[n] * d;
      const z = sigma.value(pre[n]);
      const gz = gates[n] * z;
      const ov = offV[n];
      let dz = 0;
      for (let c = 0; c < d; c++) {
        const gy = dy[xb + c];
        dz += gy * V[r + c];
        dV[ov + c] += gz * gy;
      }
      dGates[n] = z * dz;
      const da = gates[n] * dz * sigma.derivative(pre[n]);
      const ou = offU[n];
      for (let c = 0; c < d; c++) {
        dU[ou + c] += da * x[xb + c];
        dx[xb + c] += da * U[r + c];
      }
    }
  }
}

/** out_t += Σ_e g[t,e]·V_id (`out` zeroed by the caller). */
export function pkmForwardLoop(
  V: Float32Array, gates: Float32Array, ids: Int32Array, out: Float32Array, tokens: number, slots: number, dv: number,
): void {
  for (let t = 0; t < tokens; t++) {
    const ob = t * dv;
    let e = 0;
    for (; e + 3 < slots; e += 4) {
      const n = t * slots + e;
      const r0 = ids[n] * dv, r1 = ids[n + 1] * dv, r2 = ids[n + 2] * dv, r3 = ids[n + 3] * dv;
      const w0 = gates[n], w1 = gates[n + 1], w2 = gates[n + 2], w3 = gates[n + 3];
      for (let c = 0; c < dv; c++) {
        out[ob + c] += w0 * V[r0 + c] + w1 * V[r1 + c] + w2 * V[r2 + c] + w3 * V[r3 + c];
      }
    }
    for (; e < slots; e++) {
      const n = t * slots + e;
      const r = ids[n] * dv;
      const w = gates[n];
      for (let c = 0; c < dv; c++) out[ob + c] += w * V[r + c];
    }
  }
}

/** Backward of pkmForwardLoop: dV (at offsets offV) += g·dy, dGates[t,e] = dyᵀV_id. */
export function pkmBackwardLoop(
  V: Float32Array, gates: Float32Array, ids: Int32Array, dy: Float32Array, dV: Float32Array, offV: Int32Array,
  dGates: Float32Array, tokens: number, slots: number, dv: number,
): void {
  for (let t = 0; t < tokens; t++) {
    const ob = t * dv;
    let e = 0;
    for (; e + 3 < slots; e += 4) {
      const n = t * slots + e;
      const r0 = ids[n] * dv, r1 = ids[n + 1] * dv, r2 = ids[n + 2] * dv, r3 = ids[n + 3] * dv;
      const w0 = gates[n], w1 = gates[n + 1], w2 = gates[n + 2], w3 = gates[n + 3];
      const o0 = offV[n], o1 = offV[n + 1], o2 = offV[n + 2], o3 = offV[n + 3];
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let c = 0; c < dv; c++) {
        const gy = dy[ob + c];
        s0 += gy * V[r0 + c];
        s1 += gy * V[r1 + c];
        s2 += gy * V[r2 + c];
        s3 += gy * V[r3 + c];
        dV[o0 + c] += w0 * gy;
        dV[o1 + c] += w1 * gy;
        dV[o2 + c] += w2 * gy;
        dV[o3 + c] += w3 * gy;
      }
      dGates[n] = s0;
      dGates[n + 1] = s1;
      dGates[n + 2] = s2;
      dGates[n + 3] = s3;
    }
    for (; e < slots; e++) {
      const n = t * slots + e;
      const r = ids[n] * dv;
      const w = gates[n];
      const ov = offV[n];
      let s = 0;
      for (let c = 0; c < dv; c++) {
        const gy = dy[ob + c];
        s += gy * V[r + c];
        dV[ov + c] += w * gy;
      }
      dGates[n] = s;
    }
  }
}

/** The GLU forward's extra inputs: gate rows G and, written, g_idᵀx [tokens, slots]. */
export interface PeerGluForward extends PeerForward {
  readonly G: Float32Array;
  readonly preGate: Float32Array;
}

export interface PeerGluBackward extends PeerBackward, PeerGluForward {
  /** Gradient buffer of the gate table, slot n's row at offG[n]. */
  readonly dG: Float32Array;
  readonly offG: Int32Array;
}

/**
 * GLU experts: out_t += Σ_e g[t,e]·σ(G_idᵀx_t)·(U_idᵀx_t)·V_id, with
 * pre[t,e] = U_idᵀx_t and preGate[t,e] = G_idᵀx_t. One slot at a time (not
 * blocked: the GLU path is new and kept simple); `out` must start zeroed.
 */
export function peerGluForwardLoop(args: PeerGluForward, out: Float32Array): void {
  const { U, V, G, x, gates, ids, pre, preGate, tokens, slots, d, sigma } = args;
  for (let t = 0; t < tokens; t++) {
    const xb = t * d;
    for (let e = 0; e < slots; e++) {
      const n = t * slots + e;
      const r = ids[n] * d;
      let a = 0;
      let b = 0;
      for (let c = 0; c < d; c++) {
        const xc = x[xb + c];
        a += U[r + c] * xc;
        b += G[r + c] * xc;
      }
      pre[n] = a;
      preGate[n] = b;
      // From the float32-rounded pre-activations, as the backward sees them.
      const w = gates[n] * sigma.value(preGate[n]) * pre[n];
      for (let c = 0; c < d; c++) out[xb + c] += w * V[r + c];
    }
  }
}

/**
 * Backward of peerGluForwardLoop: with z = σ(b)·a, dz = dyᵀv: dv += g·z·dy,
 * dGates = z·dz, da = g·dz·σ(b), db = g·dz·a·σ'(b); du += da·x, dG += db·x,
 * dx += da·u + db·G_row.
 */
export function peerGluBackwardLoop(args: PeerGluBackward): void {
  const { U, V, G, x, gates, ids, pre, preGate, dy, dU, dV, dG, offU, offV, offG, dx, dGates, tokens, slots, d, sigma } = args;
  for (let t = 0; t < tokens; t++) {
    const xb = t * d;
    for (let e = 0; e < slots; e++) {
      const n = t * slots + e;
      const r = ids[n] * d;
      const a = pre[n];
      const b = preGate[n];
      const s = sigma.value(b);
      const z = s * a;
      const gz = gates[n] * z;
      const ov = offV[n];
      let dz = 0;
      for (let c = 0; c < d; c++) {
        const gy = dy[xb + c];
        dz += gy * V[r + c];
        dV[ov + c] += gz * gy;
      }
      dGates[n] = z * dz;
      const h = gates[n] * dz;
      const da = h * s;
      const db = h * a * sigma.derivative(b);
      const ou = offU[n];
      const og = offG[n];
      for (let c = 0; c < d; c++) {
        const xc = x[xb + c];
        dU[ou + c] += da * xc;
        dG[og + c] += db * xc;
        dx[xb + c] += da * U[r + c] + db * G[r + c];
      }
    }
  }
}
