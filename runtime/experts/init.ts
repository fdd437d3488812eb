/** Seeded initial values from a uniform [0, 1) generator. */

export type UniformRng = () => number;

export function fillUniform(out: Float32Array, bound: number, rng: UniformRng): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = (2 * rng() - 1) * bound;
  return out;
}

/** Normal(0, std²) by Box–Muller, two values per pair of draws. */
export function fillNormal(out: Float32Array, std: number, rng: UniformRng): Float32Array {
  for (let i = 0; i < out.length; i += 2) {
    const u1 = 1 - rng(); // (0, 1]: log stays finite
    const u2 = rng();
    const radius = std * Math.sqrt(-2 * Math.log(u1));
    const angle = 2 * Math.PI * u2;
    out[i] = radius * Math.cos(angle);
    if (i + 1 < out.length) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}
