/**
 * The body of the emitted `forward`: layers in order, each residual range as
 * `x + f(x)`, and runs of top-level statements that belong to one repeat
 * index ("blocks.3.…") folded into a block function. Blocks whose code is the
 * same are one function, called per index with that index's weights.
 */
import type { IRLayer, IRModel, IRResidual } from "../../ir/types.js";
import { layerCall, type LayerFunction } from "./layer-functions.js";
import { access } from "./code.js";
import { commentText, tsString } from "./strings.js";
import type { NameScope } from "./names.js";
import { nodeAt, type WeightNode, type WeightTypes } from "./weight-tree.js";

export type ForwardItem =
  | { readonly kind: "layer"; readonly index: number }
  | { readonly kind: "residual"; readonly residual: IRResidual; readonly inner: readonly ForwardItem[] }
  | { readonly kind: "block"; readonly block: BlockFunction; readonly index: number; readonly path: string };

export interface BlockFunction {
  readonly name: string;
  /** The repeat's name, e.g. "blocks". */
  readonly prefix: string;
  /** The indices that call this function. */
  readonly indices: number[];
  /** The layers of its first index. */
  readonly layers: readonly IRLayer[];
  readonly summary: string;
  readonly text: string;
  readonly usesCtx: boolean;
  readonly usesPath: boolean;
}

export interface Render {
  /** The call of layer `i` on input expression `x`. */
  call(i: number, x: string): string;
  /** A residual's path as shown in a comment (relative to the block inside a block function). */
  readonly label?: (path: string) => string;
}

/** Items for layers [start, end) with the residuals nested inside; `self` is the residual being expanded. */
function itemsOf(model: IRModel, start: number, end: number, self: IRResidual | null): ForwardItem[] {
  const out: ForwardItem[] = [];
  let i = start;
  while (i < end) {
    const r = model.residuals.filter((c) => c.start === i && c.end <= end && c !== self).sort((a, b) => b.end - a.end)[0];
    if (!r) {
      out.push({ kind: "layer", index: i++ });
      continue;
    }
    out.push({ kind: "residual", residual: r, inner: itemsOf(model, r.start, r.end, r) });
    i = r.end;
  }
  return out;
}

function layersOf(item: ForwardItem): number[] {
  if (item.kind === "layer") return [item.index];
  if (item.kind === "residual") return item.inner.flatMap(layersOf);
  return [];
}

/** Statements applying `items` to the variable `v` in place. */
export function renderItems(items: readonly ForwardItem[], render: Render, v = "x", indent = "", depth = { n: 0 }): string[] {
  const lines: string[] = [];
  for (const item of items) {
    if (item.kind === "layer") {
      lines.push(`${indent}${v} = ${render.call(item.index, v)};`);
    } else if (item.kind === "block") {
      const args = ["x", ...(item.block.usesCtx ? ["ctx"] : []), ...(item.block.usesPath ? [String(item.index)] : [])];
      lines.push(`${indent}${v} = ${item.block.name}(${access("w", item.path)}, ${args.join(", ").replace(/^x/, v)});`);
    } else {
      lines.push(`${indent}// residual ${commentText(render.label ? render.label(item.residual.path) : item.residual.path)}: ${v} + f(${v})`);
      if (item.inner.every((c) => c.kind === "layer")) {
        let expr = v;
        for (const c of item.inner) expr = render.call((c as { index: number }).index, expr);
        lines.push(`${indent}${v} = tf.add(${v}, ${expr});`);
      } else {
        const h = `h$${++depth.n}`; // "$" never appears in a name derived from the spec
        lines.push(`${indent}{`, `${indent}  let ${h}: tf.Tensor2D = ${v};`);
        lines.push(...renderItems(item.inner, render, h, indent + "  ", depth));
        lines.push(`${indent}  ${v} = tf.add(${v}, ${h});`, `${indent}}`);
      }
    }
  }
  return lines;
}

/** "blocks.3" for a path "blocks.3.mixer.norm": the name up to its first numeric segment after the first. */
function repeatPrefix(path: string): string | null {
  const parts = path.split(".");
  const k = parts.findIndex((p, i) => i > 0 && /^(0|[1-9][0-9]*)$/.test(p));
  return k < 0 || k === parts.length - 1 ? null : parts.slice(0, k + 1).join(".");
}

/** The block an item belongs to: every layer under one repeat prefix, none tied to a layer outside it. */
function blockKeyOf(item: ForwardItem, model: IRModel, fns: readonly LayerFunction[], root: WeightNode): string | null {
  const layers = layersOf(item);
  if (layers.length === 0) return null;
  const prefix = repeatPrefix(model.layers[layers[0]!]!.path);
  if (prefix === null || !nodeAt(root, prefix)) return null;
  const inside = layers.every((i) => model.layers[i]!.path.startsWith(prefix + ".") && fns[i]!.emission.tiedTo === null);
  return inside ? prefix : null;
}

/** The items of layers 1 … n−1 (layer 0, the embedding, takes the ids) with repeat blocks folded into functions. */
export function forwardItems(
  model: IRModel,
  fns: readonly LayerFunction[],
  root: WeightNode,
  types: WeightTypes,
  names: NameScope,
): { items: ForwardItem[]; blocks: BlockFunction[] } {
  const top = itemsOf(model, 1, model.layers.length, null);
  const items: ForwardItem[] = [];
  const blocks: BlockFunction[] = [];
  const byKey = new Map<string, BlockFunction>();
  let i = 0;
  while (i < top.length) {
    const key = blockKeyOf(top[i]!, model, fns, root);
    let j = i + 1;
    while (key !== null && j < top.length && blockKeyOf(top[j]!, model, fns, root) === key) j++;
    if (key === null) {
      items.push(top[i]!);
      i = j;
      continue;
    }
    const group = top.slice(i, j);
    const layerIdx = group.flatMap(layersOf);
    const dot = key.lastIndexOf(".");
    const prefix = key.slice(0, dot);
    const index = Number(key.slice(dot + 1));
    const usesCtx = layerIdx.some((l) => fns[l]!.emission.usesCtx);
    const usesPath = layerIdx.some((l) => fns[l]!.emission.usesPath);
    const rel = (p: string) => p.slice(key.length + 1);
    const render: Render = {
      call: (l, x) =>
        layerCall(fns[l]!, model.layers[l]!, x, (p) => access("w", rel(p)), (p) => `${tsString(prefix + ".")} + i + ${tsString("." + rel(p))}`),
      label: (p) => `${prefix}.<i>.${rel(p)}`,
    };
    const weights = types.name(nodeAt(root, key)!, `block ${index} weights`);
    const params = [`w: ${weights}`, "x: tf.Tensor2D", ...(usesCtx ? ["ctx: ForwardContext"] : []), ...(usesPath ? ["i: number"] : [])];
    const bodyLines = [...renderItems(group, render), "return x;"];
    const blockKey = JSON.stringify([prefix, params, bodyLines]);
    let block = byKey.get(blockKey);
    if (!block) {
      const name = names.claim(`block ${index}`);
      const summary = layerIdx.map((l) => fns[l]!.name).join(" → ");
      const text = [`function ${name}(${params.join(", ")}): tf.Tensor2D {`, ...bodyLines.map((l) => "  " + l), "}"].join("\n");
      block = { name, prefix, indices: [], layers: layerIdx.map((l) => model.layers[l]!), summary, text, usesCtx, usesPath };
      byKey.set(blockKey, block);
      blocks.push(block);
    }
    block.indices.push(index);
    items.push({ kind: "block", block, index, path: key });
    i = j;
  }
  return { items, blocks };
}
