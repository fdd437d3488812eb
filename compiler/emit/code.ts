/** Small code builders shared by the layer emitters (kinds/<kind>/emit.ts). */
import { tsNumber, tsString } from "./strings.js";

export const lit = tsNumber;

/** A shape as a TS array literal. */
export function shapeLit(shape: readonly (number | string)[]): string {
  return `[${shape.map((d) => (typeof d === "number" ? lit(d) : d)).join(", ")}]`;
}

/** A path segment as a property access: `.wq`, `[3]`, or `["we-ird"]` (spec text only as a string literal). */
export function member(segment: string): string {
  if (/^(0|[1-9][0-9]*)$/.test(segment)) return `[${segment}]`;
  if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment)) return `.${segment}`;
  return `[${tsString(segment)}]`;
}

/** `root` followed by the accesses of a dotted weight name relative to it: w("query.bn") → `w.query.bn`. */
export function access(root: string, dotted: string): string {
  return dotted === "" ? root : root + dotted.split(".").map(member).join("");
}

/** A weight of the layer's own node `w`. */
export function w(dotted: string): string {
  return access("w", dotted);
}

/** `x·w (+ b)` as an expression: the runtime's `linear` (2-D matmul, bias added). */
export function linearExpr(x: string, weight: string, bias: string | null): string {
  return bias ? `linear(${x}, ${weight}, ${bias})` : `tf.matMul(${x}, ${weight})`;
}
