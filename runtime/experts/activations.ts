/**
 * Scalar expert activations σ and their derivatives, for the fused JS expert
 * kernels. Same definitions as the dense layers: gelu is the exact erf form,
 * gelu_tanh the tanh approximation.
 */
import type { Activation } from "../../ir/types.js";

export interface ScalarActivation {
  readonly value: (a: number) => number;
  /** dσ/da at a. */
  readonly derivative: (a: number) => number;
}

/** erf to ~1.2e-7 absolute error (Numerical Recipes erfc, Chebyshev fit). */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 +
          t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - r : r - 1;
}

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const GELU_TANH_C = Math.sqrt(2 / Math.PI);

const sigmoid = (a: number): number => 1 / (1 + Math.exp(-a));

const ACTIVATIONS: Record<Activation, ScalarActivation> = {
  identity: { value: (a) => a, derivative: () => 1 },
  relu: { value: (a) => (a > 0 ? a : 0), derivative: (a) => (a > 0 ? 1 : 0) },
  sigmoid: {
    value: sigmoid,
    derivative: (a) => {
      const s = sigmoid(a);
      return s * (1 - s);
    },
  },
  tanh: {
    value: Math.tanh,
    derivative: (a) => {
      const t = Math.tanh(a);
      return 1 - t * t;
    },
  },
  silu: {
    value: (a) => a * sigmoid(a),
    derivative: (a) => {
      const s = sigmoid(a);
      return s * (1 + a * (1 - s));
    },
  },
  gelu: {
    value: (a) => 0.5 * a * (1 + erf(a * INV_SQRT2)),
    derivative: (a) => 0.5 * (1 + erf(a * INV_SQRT2)) + a * INV_SQRT_2PI * Math.exp(-0.5 * a * a),
  },
  gelu_tanh: {
    value: (a) => 0.5 * a * (1 + Math.tanh(GELU_TANH_C * (a + 0.044715 * a * a * a))),
    derivative: (a) => {
      const inner = GELU_TANH_C * (a + 0.044715 * a * a * a);
      const t = Math.tanh(inner);
      return 0.5 * (1 + t) + 0.5 * a * (1 - t * t) * GELU_TANH_C * (1 + 3 * 0.044715 * a * a);
    },
  },
};

export function scalarActivation(act: Activation): ScalarActivation {
  return ACTIVATIONS[act];
}
