/** Small code builders shared by the layer emitters; each mirrors one helper of runtime/layers/ops.ts. */
import type { Activation } from "../../../ir/types.js";
import { tsNumber } from "../strings.js";

export const lit = tsNumber;

/** A shape as a TS array literal. */
export function shapeLit(shape: readonly (number | string)[]): string {
  return `[${shape.map((d) => (typeof d === "number" ? lit(d) : d)).join(", ")}]`;
}

/**
 * Statements that bind `out` to act(`input`), `input` being an identifier.
 * The formulas are the runtime's (ops.ts `activate`), op for op, so both
 * models round the same way.
 */
export function activation(act: Activation, input: string, out: string): string {
  switch (act) {
    case "relu":
      return `const ${out} = tf.relu(${input});`;
    case "gelu":
      return `const ${out} = tf.mul(tf.mul(${input}, 0.5), tf.add(tf.erf(tf.mul(${input}, Math.SQRT1_2)), 1)); // exact GELU: ½x(1 + erf(x/√2))`;
    case "gelu_tanh":
      return `const ${out} = tf.mul(tf.mul(${input}, 0.5), tf.add(tf.tanh(tf.mul(tf.add(${input}, tf.mul(tf.pow(${input}, 3), 0.044715)), GELU_TANH_C)), 1));`;
    case "silu":
      return `const ${out} = tf.mul(${input}, tf.sigmoid(${input}));`;
    case "sigmoid":
      return `const ${out} = tf.sigmoid(${input});`;
    case "tanh":
      return `const ${out} = tf.tanh(${input});`;
    case "identity":
      return `const ${out} = ${input};`;
  }
}

/** `x·w (+ b)` as an expression; x and w are expressions. */
export function linearExpr(x: string, w: string, b: string | null): string {
  const product = `tf.matMul(${x}, ${w})`;
  return b ? `tf.add(${product}, ${b})` : product;
}
