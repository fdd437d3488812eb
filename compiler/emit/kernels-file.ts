/**
 * kernels.ts: the WGSL compute kernels of every PEER/PKM layer of the model,
 * specialised to its shape — the list and the text of `layerKernels`
 * (kinds/peer/wgsl.ts), which the runtime checks them against — as template
 * strings, one constant per distinct kernel with a comment saying what it
 * computes and which layers use it. model.ts registers them before the model
 * is built (`registerEmittedKernels`); on webgpu they run in place of the
 * text the runtime would generate. A model without PEER/PKM layers gets no
 * kernels.ts.
 */
import type { IRModel } from "../../ir/types.js";
import { layerKernels, layerKernelSpec, type LayerKernelSpec, type WgslKernel } from "../../kinds/peer/wgsl.js";
import type { EmitContext } from "./context.js";
import { tsHeader } from "./header.js";
import { commentText, tsString, tsTemplate } from "./strings.js";
import { lit } from "./code.js";

/** One PEER/PKM layer and the kernels it runs on webgpu. */
export interface LayerKernels {
  readonly path: string;
  readonly spec: LayerKernelSpec;
  readonly kernels: readonly WgslKernel[];
}

/** The model's PEER/PKM layers with their kernels, in model order (empty for a dense model). */
export function modelKernels(model: IRModel): LayerKernels[] {
  const out: LayerKernels[] = [];
  for (const layer of model.layers) {
    if (layer.kind !== "peer" && layer.kind !== "pkm") continue;
    const spec = layerKernelSpec(layer);
    out.push({ path: layer.path, spec, kernels: layerKernels(spec) });
  }
  return out;
}

/** Whether the model has a layer with WGSL kernels (then it gets a kernels.ts). */
export function hasLayerKernels(model: IRModel): boolean {
  return model.layers.some((l) => l.kind === "peer" || l.kind === "pkm");
}

/** What one kernel computes, for its comment (by the kind its key names). */
function describe(kernel: WgslKernel, spec: LayerKernelSpec): string {
  const { subKeys: n, subTopk: kk, topk: k, heads: h, dModel: d } = spec.shape;
  const slots = `${lit(h * k)} slots (${lit(h)} heads × top-${lit(k)})`;
  const expert = spec.kind === "peer" ? (spec.glu ? `${spec.act}(g_id·x) · (u_id·x)` : `${spec.act}(u_id·x)`) : "";
  if (kernel.key.startsWith("peerc_topk_")) {
    return `Product-key top-k, one invocation per query row: top-${lit(kk)} of each half's ${lit(n)} sub-key scores, top-${lit(k)} of the ${lit(kk * kk)} candidate sums → ids i·${lit(n)} + j`;
  }
  if (kernel.key.startsWith("peerc_gate_")) return `Expert gate z = gate · ${expert} per token and slot; ${slots}, d ${lit(d)}`;
  if (kernel.key.startsWith("peerc_mix_")) return `Expert mix out = Σ over the slots of z · v_id (the backward's dx: over u); ${slots}, d ${lit(d)}`;
  if (kernel.key.startsWith("peerc_dots_")) return `Row dots v_id · y per token and slot (the backward's dz, the pre-activations); ${slots}, d ${lit(d)}`;
  if (kernel.key.startsWith("peerc_rowstarts")) return "Backward row starts: per table row, the first of the slots sorted by expert id (binary search)";
  if (kernel.key.startsWith("peerc_rowgrad_")) return `Backward row gradient: per table row, Σ over its sorted slots of coef · y (no atomics, fixed order); ${slots}, d ${lit(d)}`;
  return `Kernel ${kernel.key}; ${slots}, d ${lit(d)}`;
}

/** A layer's configuration, for the comment on its entry. */
function layerSummary(spec: LayerKernelSpec): string {
  const { subKeys, subTopk, topk, heads, keyDim, dModel } = spec.shape;
  const kind = spec.kind === "peer" ? `PEER, ${spec.act}${spec.glu ? " GLU" : ""}` : "PKM";
  return `${kind}: √N ${lit(subKeys)}, sub-top-k ${lit(subTopk)}, top-${lit(topk)}, ${lit(heads)} heads, key dim ${lit(keyDim)}, d ${lit(dModel)}`;
}

/**
 * Comment lines of at most 100 columns (a longer word stays whole), continued
 * with `prefix`. Words: peerc's own text split at spaces, or whole quoted paths.
 */
function wrap(text: string | readonly string[], prefix: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of typeof text === "string" ? text.split(" ") : text) {
    if (line !== "" && line.length + 1 + word.length > 100) {
      lines.push(line);
      line = prefix + word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  return [...lines, line];
}

/** A kernel key as the name of its constant: keys are lower-case words and digits, made by wgsl.ts. */
function constName(key: string): string {
  if (!/^peerc_[a-z0-9_]+$/.test(key)) throw new Error(`kernel key ${JSON.stringify(key)} is not an identifier`);
  return key;
}

/**
 * The formatter strips trailing blanks and folds blank-line runs, also inside
 * template strings: a source it would change could not stay byte-equal.
 */
function checkSource(kernel: WgslKernel): void {
  if (/[ \t]+$/m.test(kernel.source) || /\n{3,}/.test(kernel.source)) throw new Error(`kernel ${kernel.key}: the source has trailing blanks or blank-line runs`);
}

/** kernels.ts for the model, or null when it has no PEER/PKM layer. */
export function emitKernelsFile(ctx: EmitContext): string | null {
  const layers = modelKernels(ctx.model);
  if (layers.length === 0) return null;
  // One constant per distinct kernel, in first-use order, with every layer that runs it.
  const kernels = new Map<string, { kernel: WgslKernel; spec: LayerKernelSpec; users: string[] }>();
  for (const layer of layers) {
    for (const kernel of layer.kernels) {
      const entry = kernels.get(kernel.key);
      if (entry === undefined) kernels.set(kernel.key, { kernel, spec: layer.spec, users: [layer.path] });
      else if (entry.kernel.source !== kernel.source) throw new Error(`kernel ${kernel.key}: two layers generate different sources under one key`);
      else entry.users.push(layer.path);
    }
  }
  const constants = [...kernels.values()].map(({ kernel, spec, users }) => {
    checkSource(kernel);
    return [
      ...wrap(`/** ${describe(kernel, spec)}.`, " *  "),
      ...wrap([" *  Layers:", ...users.map((u, i) => commentText(u) + (i === users.length - 1 ? ". */" : ","))], " *    "),
      `const ${constName(kernel.key)}: WgslKernel = {`,
      `  key: ${tsString(kernel.key)},`,
      `  inputs: [${kernel.inputs.map(tsString).join(", ")}],`,
      `  source: ${tsTemplate(kernel.source)},`,
      `};`,
    ].join("\n");
  });
  const entries = layers.map((layer) => {
    const names = layer.kernels.map((k) => constName(k.key));
    const flat = `  { path: ${tsString(layer.path)}, kernels: [${names.join(", ")}] },`;
    // Past 100 columns, one kernel per line.
    const entry = flat.length <= 100 ? flat : [`  {`, `    path: ${tsString(layer.path)},`, `    kernels: [`, ...names.map((n) => `      ${n},`), `    ],`, `  },`].join("\n");
    return `  // ${commentText(layer.path)}: ${layerSummary(layer.spec)}\n${entry}`;
  });
  return [
    tsHeader(ctx.header),
    `/**
 * WGSL compute kernels specialised to each PEER/PKM layer of this model: √N,
 * sub-top-k, top-k, heads and d are constants in each source, every loop has
 * a fixed trip count. createModel (model.ts) registers them; the runtime checks
 * each layer's kernels against its shape and the webgpu backend runs these
 * sources. Each is the body tfjs-backend-webgpu expects (\`fn main(index: i32)\`;
 * tfjs prepends the bindings: the output, then the inputs in the order listed).
 * A table split into shards at run time (the device's binding limit) runs
 * kernels generated then for each shard's row range.
 */`,
    `import type { EmittedLayerKernels, WgslKernel } from ${tsString(ctx.runtimeImport)};`,
    "",
    constants.join("\n\n"),
    "",
    "/** Every PEER/PKM layer of the model, in order, with the kernels it runs on webgpu. */",
    "export const LAYER_KERNELS: readonly EmittedLayerKernels[] = [",
    ...entries,
    "];",
    "",
  ].join("\n");
}
