/** The one-line cost summary written above each emitted layer function and in the README table. */
import type { FlopTerm, LayerCost } from "../cost/types.js";

/** 1234567 → "1,234,567" (params are exact counts). */
export function groupThousands(n: bigint | number): string {
  const s = (typeof n === "bigint" ? n : BigInt(Math.round(n))).toString();
  const neg = s.startsWith("-");
  const digits = neg ? s.slice(1) : s;
  return (neg ? "-" : "") + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** FLOPs with an SI prefix and three significant digits: 16.8 MFLOP. */
export function flopsText(flops: number): string {
  const units: [number, string][] = [[1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [scale, prefix] of units) {
    if (Math.abs(flops) >= scale) return `${trim(flops / scale)} ${prefix}FLOP`;
  }
  return `${trim(flops)} FLOP`;
}

function trim(x: number): string {
  return Number(x.toPrecision(3)).toString();
}

export function layerCostLine(cost: LayerCost): string {
  const fwd = cost.forward.matrix + cost.forward.elementwise;
  const parts = [`params ${groupThousands(cost.params)}`];
  if (cost.activeParams !== cost.params) parts.push(`active ${groupThousands(cost.activeParams)}`);
  if (cost.sharedParams > 0n) parts.push(`shares ${groupThousands(cost.sharedParams)}`);
  parts.push(`forward ${flopsText(fwd)}/token (matrix ${flopsText(cost.forward.matrix)}, elementwise ${flopsText(cost.forward.elementwise)})`);
  return parts.join(" · ");
}

/** How the emitted code's work differs from the cost model's terms (constants folded, work moved). */
export interface EmittedFlops {
  /** Cost-model terms the emitted code does not run (folded into constants). */
  readonly folded: readonly string[];
  /** Terms it runs instead. */
  readonly extra: readonly FlopTerm[];
  /** Why, for the comment. */
  readonly note: string;
}

/**
 * The cost line of an emitted function: the cost model's figures, or, when
 * the emitted code folds some of the model's work into constants, the FLOPs
 * the code itself runs, term by term, with the model's figure beside them.
 */
export function emittedCostLine(cost: LayerCost, flops: EmittedFlops | undefined): string {
  if (!flops) return layerCostLine(cost);
  const { matrix, elementwise } = emittedForward(cost, flops);
  const model = cost.forward.matrix + cost.forward.elementwise;
  const parts = [`params ${groupThousands(cost.params)}`];
  if (cost.activeParams !== cost.params) parts.push(`active ${groupThousands(cost.activeParams)}`);
  if (cost.sharedParams > 0n) parts.push(`shares ${groupThousands(cost.sharedParams)}`);
  parts.push(`forward ${flopsText(matrix + elementwise)}/token as emitted (matrix ${flopsText(matrix)}, elementwise ${flopsText(elementwise)}; cost model ${flopsText(model)}: ${flops.note})`);
  return parts.join(" · ");
}

/** Forward FLOPs per token of the emitted code for one layer: the cost model's terms with `flops` applied. */
export function emittedForward(cost: LayerCost, flops: EmittedFlops | undefined): { matrix: number; elementwise: number } {
  if (!flops) return cost.forward;
  const terms = [...cost.terms.filter((t) => !flops.folded.includes(t.name)), ...flops.extra];
  return { matrix: terms.reduce((a, t) => a + t.matrix, 0), elementwise: terms.reduce((a, t) => a + t.elementwise, 0) };
}
