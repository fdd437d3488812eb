/**
 * Seeded initial values from a uniform [0, 1) generator.
 *
 * `fillNormal` has to fill 2 × 2^28 floats at N = 1024², d = 256, so its inner
 * loop calls nothing: the caller's generator only seeds a local xoshiro128**
 * stream (four draws), and each value is one 32-bit draw pushed through the
 * normal quantile function (inverse-CDF sampling). Box–Muller through a closure
 * (log, sqrt, cos, sin and two calls per pair) took 17 s for those 2^29 values;
 * this loop takes a few seconds (docs/benchmarks.md, "PEER LM at 1024² experts").
 */

export type UniformRng = () => number;

export function fillUniform(out: Float32Array, bound: number, rng: UniformRng): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = (2 * rng() - 1) * bound;
  return out;
}

// Rational approximation of the standard normal quantile by P. J. Acklam
// (relative error below 1.2e-9, far under float32's 6e-8): a rational function of
// (p − 1/2) in the central region, of √(−2 ln p) in the tails.
const A0 = -3.969683028665376e1, A1 = 2.209460984245205e2, A2 = -2.759285104469687e2;
const A3 = 1.38357751867269e2, A4 = -3.066479806614716e1, A5 = 2.506628277459239;
const B0 = -5.447609879822406e1, B1 = 1.615858368580409e2, B2 = -1.556989798598866e2;
const B3 = 6.680131188771972e1, B4 = -1.328068155288572e1;
const C0 = -7.784894002430293e-3, C1 = -3.223964580411365e-1, C2 = -2.400758277161838;
const C3 = -2.549732539343734, C4 = 4.374664141464968, C5 = 2.938163982698783;
const D0 = 7.784695709041462e-3, D1 = 3.224671290700398e-1, D2 = 2.445134137142996, D3 = 3.754408661907416;
const P_LOW = 0.02425;

/** Φ⁻¹(p) for p in (0, 1). */
export function normalQuantile(p: number): number {
  if (p < P_LOW) return lowerTail(p);
  if (p > 1 - P_LOW) return -lowerTail(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (((((A0 * r + A1) * r + A2) * r + A3) * r + A4) * r + A5) * q / (((((B0 * r + B1) * r + B2) * r + B3) * r + B4) * r + 1);
}

function lowerTail(p: number): number {
  const q = Math.sqrt(-2 * Math.log(p));
  return (((((C0 * q + C1) * q + C2) * q + C3) * q + C4) * q + C5) / ((((D0 * q + D1) * q + D2) * q + D3) * q + 1);
}

const TWO_POW_32 = 4294967296;

/**
 * Normal(0, std²) values, deterministic in the generator's state: the same
 * generator state gives the same array. Advances `rng` by exactly four draws.
 */
export function fillNormal(out: Float32Array, std: number, rng: UniformRng): Float32Array {
  let a = (rng() * TWO_POW_32) >>> 0;
  let b = (rng() * TWO_POW_32) >>> 0;
  let c = (rng() * TWO_POW_32) >>> 0;
  let d = (rng() * TWO_POW_32) >>> 0;
  if ((a | b | c | d) === 0) a = 1; // the all-zero state is a fixed point
  const n = out.length;
  for (let i = 0; i < n; i++) {
    // xoshiro128** (Blackman & Vigna), as in runtime/data/rng.ts, with the state in locals.
    const x = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    // (x + 1/2) / 2^32 lies in (0, 1): the quantile stays finite (|z| ≤ 6.3).
    out[i] = std * normalQuantile((x + 0.5) / TWO_POW_32);
  }
  return out;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
