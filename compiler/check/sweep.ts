/**
 * Sweeps: every value list is an axis; a model expands into one variant per
 * combination. Variants are enumerated as a tree: a run with the current
 * selection reports the lists it met; the first list without a chosen item
 * branches into one run per item. Lists met only on some branches (inside an
 * `if`) therefore count only where they are reached.
 */
import type { Axis } from "./evaluate.js";
import type { Value } from "./values.js";

export const MAX_VARIANTS = 256;

export interface VariantRun<R> {
  readonly result: R;
  readonly axes: readonly Axis[];
}

export type Enumeration<R> =
  | { readonly ok: true; readonly variants: R[] }
  | { readonly ok: false; readonly count: number; readonly axes: readonly Axis[] };

export function enumerateVariants<R>(run: (selection: Map<string, number>) => VariantRun<R>): Enumeration<R> {
  const variants: R[] = [];
  const queue: Map<string, number>[] = [new Map()];
  while (queue.length > 0) {
    const selection = queue.shift()!;
    const { result, axes } = run(selection);
    const open = axes.find((a) => !selection.has(a.key));
    if (!open) {
      variants.push(result);
      continue;
    }
    // Without a branch, the count is at least the product of the axes seen so far.
    const bound = variants.length + queue.length + axes.filter((a) => !selection.has(a.key)).reduce((n, a) => n * a.size, 1);
    if (bound > MAX_VARIANTS) return { ok: false, count: bound, axes };
    for (let i = 0; i < open.size; i++) queue.push(new Map([...selection, [open.key, i]]));
  }
  return { ok: true, variants };
}

/** How an axis value appears in a variant name and in `IRModel.sweep`. */
export function sweepValue(value: Value | undefined): number | string {
  if (!value) return "?";
  switch (value.t) {
    case "int": return Number(value.v);
    case "float": return value.v;
    case "percent": return `${Number((value.v * 100).toPrecision(12))}%`;
    case "string":
    case "word": return value.v;
    case "bool": return String(value.v);
    case "tuple": return `(${value.items.map((v) => sweepValue(v)).join(",")})`;
    case "error": return "?";
  }
}
